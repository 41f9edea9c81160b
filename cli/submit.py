"""`bsr submit` and `bsr login`: a modeler's side of a private benchmark's scoring service."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape

from .common import JSON_HELP, err, out, print_json, user_errors

SERVER = typer.Option(..., "--server", help="The scoring service's URL, e.g. https://scores.example-lab.org")
INSECURE = typer.Option(False, "--insecure-http", help="Allow plain http to a non-loopback host (the token is sent in clear).")


def submit(
    server: str = SERVER,
    benchmark: str = typer.Option(..., "--benchmark", "-b", help="Benchmark id on that server (see its /v1/benchmarks)."),
    predictions: Path = typer.Option(
        ..., "--predictions", help="The predictions file (NetCDF), as bsr score --predictions takes."
    ),
    out_path: Path = typer.Option(
        None, "--out", help="Where to save the record (default records/<benchmark>--<file>--<id>.json)."
    ),
    trusted_key: list[Path] = typer.Option(
        None, "--trusted-key", help="The server's public key, to check the record against (default: your trusted keys)."
    ),
    insecure_http: bool = INSECURE,
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Submit a predictions file to a private benchmark's scoring service; print the score and save the
    signed record.

    The token comes from $BSR_TOKEN or from $BSR_HOME/tokens.json (mode 0600, written by `bsr login`),
    never from the command line. The answer is checked: signed by the key the server publishes, for
    this file's sha256 and this benchmark. Whether you trust that key is your trusted-keys policy
    (bsr keys trust server.pub): an untrusted one is reported and the record saved all the same. A
    retried request never counts twice (an idempotency key per run).

    Example: bsr submit --server http://127.0.0.1:8765 -b Synthetic2026.V4-pls --predictions predictions.nc
    """
    from brainscore_registry.paths import check_output_file, write_atomic
    from brainscore_registry.runs.session import safe_file_stem
    from brainscore_registry.runs.trust import load_policy
    from brainscore_registry.service import client
    from brainscore_registry.service.client import printable
    from brainscore_registry.service.credentials import token_for

    with user_errors():
        url = client.check_server_url(server, insecure_http)
        policy = load_policy(trusted_key or ())
        token = token_for(url)
        target = out_path or Path("records") / f"{benchmark}--predictions-{safe_file_stem(predictions)}.json"
        target = check_output_file(target, field="out", can_follow=False)
        answer = client.submit(url, benchmark, predictions, token, policy)
        if out_path is None:
            target = target.with_name(f"{target.stem}--{answer.record.submission['id'][:8]}.json")
        write_atomic(target, answer.raw)
    record, submission = answer.record, answer.record.submission
    row = {
        "benchmark": record.benchmark.id,
        "version": record.benchmark.version,
        "score": record.score["value"],
        "error": record.score["error"],
        "raw": record.score["raw"]["value"],
        "ceiling": record.score["ceiling"]["value"],
        "precision": submission["precision"],
        "submission": submission["id"],
        "account": submission["account"],
        "signer": record.signer.key_id,
        "trusted": answer.trusted,
        "replayed": answer.replayed,
        "record": str(target),
    }
    if as_json:
        print_json(row)
    else:
        shown = "undefined (null)" if row["score"] is None else f"{row['score']}"
        line = (
            f"{row['benchmark']} v{row['version']}: score {shown} (raw {row['raw']}, ceiling {row['ceiling']}, precision "
            f"{row['precision']}), submission {row['submission']} of {row['account']}; record {target}"
        )
        out.print("[green]✓[/] " + escape(printable(line)))  # the server's words, shown as text
    if not answer.trusted:
        err.print(
            f"[yellow]The record's signature is valid, but the server's key {record.signer.key_id} is not one you trust:[/] "
            "get the lab's server.pub from the lab itself and `bsr keys trust server.pub` (bsr verify and bsr leaderboard "
            "count its records then)."
        )


def login(
    server: str = SERVER,
    insecure_http: bool = INSECURE,
) -> None:
    """Save an API token for a scoring service in $BSR_HOME/tokens.json (mode 0600), after checking it
    with the server. The token is read from the prompt (not echoed) or from standard input.

    Example: bsr login --server http://127.0.0.1:8765 < token.txt
    """
    from brainscore_registry.errors import UserInputError
    from brainscore_registry.service import client
    from brainscore_registry.service.client import printable
    from brainscore_registry.service.credentials import save_token

    with user_errors():
        url = client.check_server_url(server, insecure_http)
        token = typer.prompt("API token", hide_input=True) if sys.stdin.isatty() else sys.stdin.readline()
        token = token.strip()
        if not token:
            raise UserInputError("no token given", field="token", fix="paste the token `bsr serve token add` printed")
        account = client.account(url, token)
        path = save_token(url, token)
    limit = account["limit_per_day"]
    who = escape(printable(account["account"]))
    out.print(f"Logged in to {url} as {who} ({limit} submissions per benchmark per day); token saved in {path}")
