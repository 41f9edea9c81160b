"""Where a modeler keeps API tokens: `$BSR_TOKEN`, or `$BSR_HOME/tokens.json` (server URL → token),
mode 0600 like an SSH key, written by `bsr login`. Never a command-line argument, which would land
in the shell's history and in every process listing."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import UserInputError
from ..paths import bsr_home, write_atomic

ENV = "BSR_TOKEN"


def tokens_file() -> Path:
    return bsr_home() / "tokens.json"


def server_key(url: str) -> str:
    return url.rstrip("/")


def _read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise UserInputError(
            f"the token file is readable by others (mode {mode:o})", file=path, field="mode", fix=f"chmod 600 {path}"
        )
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserInputError(
            f"cannot read the token file: {exc}", file=path, field="tokens", fix="run `bsr login` again"
        ) from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise UserInputError("the token file is not {server URL: token}", file=path, field="tokens", fix="run `bsr login` again")
    return data


def token_for(url: str) -> str:
    """The token for `url`: $BSR_TOKEN first, then the token file."""
    if os.environ.get(ENV):
        return os.environ[ENV].strip()
    path = tokens_file()
    token = _read(path).get(server_key(url))
    if not token:
        raise UserInputError(
            f"no API token for {server_key(url)}",
            file=path,
            field="token",
            fix=f"run `bsr login --server {server_key(url)}` (it asks for the token), or set ${ENV}",
        )
    return token


def save_token(url: str, token: str) -> Path:
    path = tokens_file()
    data = _read(path)
    data[server_key(url)] = token
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(data, indent=2) + "\n", mode=0o600)
    return path
