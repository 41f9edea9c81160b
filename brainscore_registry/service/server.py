"""Starting the service: its signing key (created on first start), database, benchmarks and uvicorn."""

from __future__ import annotations

import logging
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..errors import UserInputError
from ..paths import bsr_home, check_input_file
from ..progress import Progress
from ..runs.records import load_private_key, write_key_pair
from ..store.registry import Registry
from .app import Service, create_app
from .database import connect
from .quota import expire_stale
from .served import pull_missing
from .workers import ScoringPool

DEFAULT_MAX_UPLOAD_MB = 64.0
MAX_UPLOAD_MB = 1 << 20  # 1 TiB: a bound, so that no float (inf, 1e300) passes for a size
MIN_UPLOAD_MB = 0.001  # about 1 kB: no NetCDF file is smaller


def check_port_free(host: str, port: int) -> None:
    """Refuse at once, before the data are loaded, an address this process cannot listen on."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UserInputError(
            f"cannot listen on {host!r}: {exc.strerror}", field="host", fix="give an address of this machine, e.g. 127.0.0.1"
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise UserInputError(
                f"cannot listen on {host}:{port}: {exc.strerror}",
                field="port",
                fix="choose another --port (another server may be running there), or stop the one that holds it",
            ) from None


def default_key_path() -> Path:
    return bsr_home() / "serve" / "server.key"


def server_key(path: Path | None) -> tuple[Ed25519PrivateKey, bool]:
    """The service's Ed25519 key at `path` (default `$BSR_HOME/serve/server.key`, its public half beside
    it as `server.pub`), created when absent; returns it and whether it was created now."""
    path = Path(path) if path is not None else default_key_path()
    created = not path.exists()
    if created:
        try:
            write_key_pair(path, path.with_suffix(".pub"))
        except OSError as exc:
            raise UserInputError(
                f"cannot create the server's key: {exc.strerror or exc}",
                file=path,
                field="key",
                fix="give a --key path you can write",
            ) from None
    elif not path.is_file():
        raise UserInputError("is not a file", file=path, field="key", fix="give the server's private key file (PEM)")
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
    if not re.fullmatch(r"[0-9]{1,2}", text) or not 0 <= int(text) <= 15:
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
    upload_timeout: float = 300.0
    max_decoded_mb: float = 1024.0  # the memory an upload's values may take in a worker once decoded
    trusted_proxies: tuple[str, ...] = ()  # whose X-Forwarded-For the audit log believes


def build_service(registry: Registry, options: ServeOptions, progress: Progress | None = None) -> tuple[Service, bool]:
    """Everything checked and loaded before the port opens; returns the service and whether its key is new."""
    check_options(options)
    key, created = server_key(options.key)
    engine = connect(options.db)
    expired = expire_stale(engine)
    if expired:
        logging.getLogger("bsr.serve").warning("%d submissions left unfinished by a stopped server marked failed", expired)
    benchmark_ids = pull_missing(registry, options.benchmarks, progress)
    jobs = options.jobs or os.cpu_count() or 1
    pool = ScoringPool(registry.root, benchmark_ids, jobs, int(options.max_decoded_mb * (1 << 20)))
    served = pool.public_facts()
    upload = int(options.max_upload_mb * (1 << 20))
    return Service(engine, served, key, options.precision, upload, options.upload_timeout, pool), created


def check_options(options: ServeOptions) -> None:
    """The options a start would fail on later, refused before anything is loaded."""
    if not MIN_UPLOAD_MB <= options.max_upload_mb <= MAX_UPLOAD_MB:  # NaN fails this too
        raise UserInputError(
            f"--max-upload-mb must be between {MIN_UPLOAD_MB} and {MAX_UPLOAD_MB:,}",
            field="max-upload-mb",
            fix="e.g. --max-upload-mb 64",
        )
    if not MIN_UPLOAD_MB <= options.max_decoded_mb <= MAX_UPLOAD_MB:
        raise UserInputError(
            f"--max-decoded-mb must be between {MIN_UPLOAD_MB} and {MAX_UPLOAD_MB:,}", field="max-decoded-mb", fix="e.g. 1024"
        )
    if not 1 <= options.upload_timeout <= 86400:
        raise UserInputError("--upload-timeout must be 1 to 86400 seconds", field="upload-timeout", fix="e.g. 300")
    if (options.tls_cert is None) != (options.tls_key is None):
        raise UserInputError(
            "give both --tls-cert and --tls-key, or neither", field="tls-cert", fix="--tls-cert cert.pem --tls-key key.pem"
        )
    for name, path in (("tls-cert", options.tls_cert), ("tls-key", options.tls_key)):
        if path is not None:
            check_input_file(Path(path), field=name)
    check_port_free(options.host, options.port)


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
            proxy_headers=bool(options.trusted_proxies),  # else X-Forwarded-For is ignored: the audit names the peer
            forwarded_allow_ips=list(options.trusted_proxies) or None,
            **tls,
        )
    finally:
        service.pool.close()  # e.g. the port was taken: uvicorn returned without a lifespan
