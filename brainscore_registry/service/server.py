"""Starting the service: its signing key (created on first start), database, benchmarks and uvicorn."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..errors import UserInputError
from ..paths import bsr_home
from ..progress import Progress
from ..runs.records import load_private_key, write_key_pair
from ..store.registry import Registry
from .app import Service, create_app
from .database import connect
from .served import load_served
from .workers import ScoringPool

DEFAULT_MAX_UPLOAD_MB = 64.0


def default_key_path() -> Path:
    return bsr_home() / "serve" / "server.key"


def server_key(path: Path | None) -> tuple[Ed25519PrivateKey, bool]:
    """The service's Ed25519 key at `path` (default `$BSR_HOME/serve/server.key`, its public half beside
    it as `server.pub`), created when absent; returns it and whether it was created now."""
    path = Path(path) if path is not None else default_key_path()
    created = not path.exists()
    if created:
        write_key_pair(path, path.with_suffix(".pub"))
    elif path.stat().st_mode & 0o077:
        raise UserInputError(
            f"the server's private key is readable by others (mode {path.stat().st_mode & 0o777:o})",
            file=path,
            field="key",
            fix=f"chmod 600 {path}",
        )
    return load_private_key(path, fix="give an Ed25519 private key in PEM, or a path where a new one is created"), created


def parse_precision(text: str) -> int | None:
    if text == "full":
        return None
    if not text.isdigit() or not 0 <= int(text) <= 15:
        raise UserInputError(f"{text!r} is not a precision", field="precision", fix="give 0 to 15 decimals, or full")
    return int(text)


@dataclass(frozen=True)
class ServeOptions:
    benchmarks: list[str]
    host: str = "127.0.0.1"
    port: int = 8000
    db: str | None = None
    key: Path | None = None
    precision: int | None = 3
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB
    jobs: int = 0  # 0: one per core
    tls_cert: Path | None = None
    tls_key: Path | None = None


def build_service(registry: Registry, options: ServeOptions, progress: Progress | None = None) -> tuple[Service, bool]:
    """Everything checked and loaded before the port opens; returns the service and whether its key is new."""
    if options.max_upload_mb <= 0:
        raise UserInputError("--max-upload-mb must be positive", field="max-upload-mb", fix="e.g. --max-upload-mb 64")
    if (options.tls_cert is None) != (options.tls_key is None):
        raise UserInputError(
            "give both --tls-cert and --tls-key, or neither", field="tls-cert", fix="--tls-cert c.pem --tls-key k.pem"
        )
    key, created = server_key(options.key)
    engine = connect(options.db)
    served = load_served(registry, options.benchmarks, progress)
    pool = ScoringPool(registry.root, list(served), options.jobs or os.cpu_count() or 1)
    return Service(engine, served, key, options.precision, int(options.max_upload_mb * (1 << 20)), pool), created


def run_server(service: Service, options: ServeOptions) -> None:
    """uvicorn on the service until SIGINT/SIGTERM (graceful: requests in flight finish, 10 s at most)."""
    import uvicorn

    logger = logging.getLogger("bsr.serve")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s bsr.serve %(levelname)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    tls = {"ssl_certfile": str(options.tls_cert), "ssl_keyfile": str(options.tls_key)} if options.tls_cert else {}
    try:
        uvicorn.run(
            create_app(service),  # its lifespan closes the scoring workers on a graceful shutdown
            host=options.host,
            port=options.port,
            log_level="info",
            timeout_graceful_shutdown=10,
            server_header=False,
            **tls,
        )
    finally:
        service.pool.close()  # e.g. the port was taken: uvicorn returned without a lifespan
