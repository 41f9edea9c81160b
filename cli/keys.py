"""`bsr keys init|show|trust|trusted|untrust`: the key that signs your records, and the keys whose
records you trust."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import JSON_HELP, out, print_json, user_errors

app = typer.Typer(
    help="The signing key for score records, and the trusted keys whose records count.\n\nExample: bsr keys init",
    no_args_is_help=True,
)


@app.command("init")
def init(
    force: bool = typer.Option(
        False, "--force", help="Replace an existing key (its public key stays trusted, so the records it signed keep verifying)."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Create the signing key pair under $BSR_HOME/keys (private key mode 0600, never printed).

    Example: bsr keys init
    """
    from brainscore_registry.runs.trust import init_signing_key

    with user_errors():
        key, previous = init_signing_key(force)
    if previous is not None and not as_json:
        out.print(f"The previous key {previous.key_id} stays trusted ({previous.file}).")
    _show(key, as_json)


@app.command("show")
def show(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Print the public key and key id (never the private key).

    Example: bsr keys show --json
    """
    from brainscore_registry.runs import records

    with user_errors():
        key = records.public_key()
    _show(key, as_json)


def _show(key, as_json: bool) -> None:
    from brainscore_registry.runs import records

    pem = records.public_pem(key).decode()
    data = {"key_id": records.key_id(key), "public_key_pem": pem, "public_key_file": str(records.keys_dir() / "ed25519.pub")}
    if as_json:
        print_json(data)
        return
    out.print(f"key id      {data['key_id']}\npublic key  {data['public_key_file']}\n{pem}")


@app.command("trust")
def trust(
    key_file: Path = typer.Argument(..., metavar="FILE", help="An Ed25519 public key: PEM, or the base64 of the raw key."),
    name: str = typer.Option(None, "--name", help="File name in the trusted directory (default: the key id)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Trust records signed by this key: copy it (checked) into $BSR_HOME/trusted_keys.

    bsr verify, aggregate and reproduce then accept its records without --trusted-key.

    Example: bsr keys trust alice.pub --name alice
    """
    from brainscore_registry.runs.trust import trust_key

    with user_errors():
        entry, added = trust_key(key_file, name)
    if as_json:
        print_json({**entry.to_json(), "added": added})
        return
    out.print(f"{'Trusted' if added else 'Already trusted:'} key {entry.key_id} ({entry.file})")


@app.command("trusted")
def trusted(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """List the keys whose records count: your own signing key and those in $BSR_HOME/trusted_keys.

    Example: bsr keys trusted --json
    """
    from brainscore_registry.runs.trust import trusted_dir, trusted_keys

    with user_errors():
        keys = trusted_keys()
    if as_json:
        print_json([k.to_json() for k in keys])
        return
    if not keys:
        out.print(
            f"No trusted keys yet: create yours with `bsr keys init`, add others' with `bsr keys trust FILE` ({trusted_dir()})."
        )
    for k in keys:
        out.print(f"{k.key_id}  {k.source:<16}  {k.file}")


@app.command("untrust")
def untrust(
    key_id: str = typer.Argument(
        ...,
        metavar="KEY_ID|NAME",
        help="The key id (16 hex digits, as `bsr keys trusted` lists it) or the name it was trusted under.",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Stop trusting a key: remove it from $BSR_HOME/trusted_keys (records it signed no longer verify here).

    Example: bsr keys untrust alice
    """
    from brainscore_registry.runs.trust import untrust as remove

    with user_errors():
        removed = remove(key_id)
    if as_json:
        print_json({"key_id": key_id, "removed": [str(p) for p in removed]})
        return
    out.print(f"No longer trusted: {key_id} (removed {', '.join(str(p) for p in removed)})")
