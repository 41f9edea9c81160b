"""`bsr keys init|show`: the Ed25519 key pair that signs score records."""

from __future__ import annotations

import typer

from .common import out, print_json, user_errors

app = typer.Typer(help="The signing key for score records.\n\nExample: bsr keys init", no_args_is_help=True)


@app.command("init")
def init(
    force: bool = typer.Option(
        False, "--force", help="Replace an existing key (records it signed keep verifying with its public key)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Create the signing key pair under $BSR_HOME/keys (private key mode 0600, never printed).

    Example: bsr keys init
    """
    from brainscore_registry.runs import records

    with user_errors():
        key = records.init_keys(force)
    _show(key, as_json)


@app.command("show")
def show(as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """Print the public key and key id (never the private key).

    Example: bsr keys show --json
    """
    from brainscore_registry.runs import records

    with user_errors():
        key = records.public_key()
    _show(key, as_json)


def _show(key, as_json: bool) -> None:
    from cryptography.hazmat.primitives import serialization

    from brainscore_registry.runs import records

    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    data = {"key_id": records.key_id(key), "public_key_pem": pem, "public_key_file": str(records.keys_dir() / "ed25519.pub")}
    if as_json:
        print_json(data)
        return
    out.print(f"key id      {data['key_id']}\npublic key  {data['public_key_file']}\n{pem}")
