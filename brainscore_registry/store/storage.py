"""DVC behind the registry: every version's store is a DVC-tracked directory, pushed to and pulled
from a remote, and verified by its logical hash after every pull.

- The DVC cache is shared by every registry on the machine (`$BSR_HOME/cache/dvc`), with stores
  hardlinked (read-only) into the workspace, so a version is stored once.
- The embedded default remote is a directory, `$BSR_HOME/remote`, created on first use. Its path is
  machine-specific, so it lives in `.dvc/config.local` (git-ignored); S3 remotes added with
  `add_remote` live in the committed `.dvc/config`, without credentials, which come only from the
  environment or AWS config files.
- The public remote (see `public`) is read-only: reads fall back to it after the default remote,
  pushes never go to it, and `publish` uploads to the place it serves.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from ..data.schemas import DvcLocation
from ..errors import BsrError, JobError, UserInputError, did_you_mean
from ..paths import bsr_home
from .public import PUBLIC_REMOTE, config_override, is_http, unreachable, url_override
from .sources import RemoteCheck

LOCAL_REMOTE = "bsr-local"
PUBLISH_REMOTE = "bsr-publish"  # the destination of `bsr publish`, declared for one DVC session only
_CREDENTIAL_HINTS = ("Unable to locate credentials", "NoCredentialsError", "InvalidAccessKeyId", "SignatureDoesNotMatch")
_UNREACHABLE_HINTS = (
    "Could not connect",
    "Connection refused",
    "ConnectionError",
    "EndpointConnectionError",
    "Cannot connect to host",
    "failed to upload",
    "failed to download",
    "ServerDisconnected",
)


def local_remote_dir() -> Path:
    return bsr_home() / "remote"


def shared_cache_dir() -> Path:
    return bsr_home() / "cache" / "dvc"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """DVC prints git hints and progress of its own; the CLI shows ours."""
    logger = logging.getLogger("dvc")
    level = logger.level
    logger.setLevel(logging.ERROR)
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def _explain(exc: Exception, action: str, remote: str | None) -> Exception:
    """A DVC/S3 failure as an error a person can act on."""
    text = f"{type(exc).__name__}: {exc}"
    cause = exc.__cause__ or exc.__context__
    while cause is not None:
        text += f" | {type(cause).__name__}: {cause}"
        cause = cause.__cause__ or cause.__context__
    where = f"remote '{remote}'" if remote else "the default remote"
    if any(h in text for h in _CREDENTIAL_HINTS):
        return UserInputError(
            f"no valid credentials for {where} ({action} refused; no anonymous access is attempted)",
            field="credentials",
            fix="export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE with ~/.aws/credentials) and rerun",
        )
    if any(h in text for h in _UNREACHABLE_HINTS):
        return JobError(
            f"{action} failed: {where} is unreachable or stopped answering ({str(exc).strip()[:300]})",
            fix=f"check the remote's URL/endpoint and the network, then rerun `bsr {action}`: "
            "what was already transferred is kept and only the rest is sent",
        )
    return JobError(f"{action} failed: {text[:500]}", fix=f"rerun `bsr {action}`; if it fails again, check `bsr status`")


_SECRET_QUERY_WORDS = ("key", "secret", "token", "credential", "signature", "password")


def _credentials_in(url: str) -> str | None:
    """What in `url` looks like a credential (user info, a secret-looking query parameter), or None.
    The words name the place, never the secret itself."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        return "a user name or key before '@'"
    secret = [k for k, _ in parse_qsl(parts.query, keep_blank_values=True) if any(w in k.lower() for w in _SECRET_QUERY_WORDS)]
    return f"the query parameter {secret[0]!r}" if secret else None


_S3_CREDENTIALS_FIX = (
    "remove the credentials from the URL and export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
    "(or use AWS_PROFILE with ~/.aws/credentials) instead"
)


def _refuse_credentials(url: str, field: str, fix: str = _S3_CREDENTIALS_FIX) -> None:
    found = _credentials_in(url)
    if found:
        raise UserInputError(
            f"the {field.replace('_', ' ')} embeds credentials ({found}); a remote's URL is written into the DVC "
            "config (.dvc/config is committed: everyone who clones the registry reads it)",
            field=field,
            fix=fix,
        )


def _present(odb, oids: set[str]) -> set[str]:
    """The objects a remote has. For a directory remote DVC's own check re-hashes every object that is
    not read-only and counts a damaged one as absent; presence is all that is asked here, because every
    pulled version is verified by its logical hash, and a damaged remote object is then reported as such."""
    if getattr(odb.fs, "protocol", None) == "local":
        return set(odb.list_oids_exists(sorted(oids)))
    return set(odb.oids_exist(sorted(oids)))


def _git_available() -> bool:
    return shutil.which("git") is not None


class Storage:
    """The DVC side of one registry checkout."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._remotes: tuple[tuple, dict[str, dict]] | None = None  # (what they were read from, the remotes)

    # -- set-up ---------------------------------------------------------------------------------
    def initialize(self) -> None:
        """`git init` (when missing) and `dvc init` with analytics and update checks off."""
        from dvc.repo import Repo

        scm = _git_available() and (self.root / ".git").exists()
        if _git_available() and not scm:
            subprocess.run(["git", "init", "-q", str(self.root)], check=True)
            scm = True
        if not (self.root / ".dvc").is_dir():
            with _quiet():
                Repo.init(str(self.root), no_scm=not scm).close()
        with self.repo() as repo, repo.config.edit("repo") as config:
            config["core"]["analytics"] = False
            config["core"]["check_update"] = False
        if not (self.root / "dvc.yaml").exists():
            (self.root / "dvc.yaml").write_text("# Stages that build datasets from raw files.\nstages: {}\n")

    def configure_machine(self) -> None:
        """Point this checkout at the shared cache and the embedded local remote (in config.local)."""
        cache, remote = shared_cache_dir(), local_remote_dir()
        cache.mkdir(parents=True, exist_ok=True)
        remote.mkdir(parents=True, exist_ok=True)
        from dvc.config import Config

        # hardlink first: `dvc add` then links a new store into the cache instead of copying it
        wanted_cache = {"dir": str(cache), "type": "hardlink,copy"}
        wanted_remote = {"url": str(remote)}
        with _quiet():
            config = Config(str(self.root / ".dvc"))
            current = config.load_one("local")
            has_default = "remote" in config.load_one("repo").get("core", {}) or current.get("core", {}).get("remote")
            configured = current.get("cache") == wanted_cache and current.get("remote", {}).get(LOCAL_REMOTE) == wanted_remote
            if configured and has_default:
                return
            with config.edit("local") as local:
                local["cache"].update(wanted_cache)
                local["remote"][LOCAL_REMOTE] = wanted_remote
                if "remote" not in config.load_one("repo").get("core", {}):
                    local["core"]["remote"] = LOCAL_REMOTE
            self._remotes = None

    @contextlib.contextmanager
    def repo(self, extra: dict | None = None) -> Iterator[object]:
        """The DVC repository, with `$BSR_PUBLIC_REMOTE` (and `extra`) merged over its config files."""
        from dvc.repo import Repo

        overrides = config_override()
        if extra:
            overrides = {"remote": {**overrides.get("remote", {}), **extra.get("remote", {})}}
        with _quiet(), Repo(str(self.root), config=overrides or None) as repo:
            yield repo

    # -- tracking -------------------------------------------------------------------------------
    def track(self, store: Path) -> DvcLocation:
        """`dvc add` a published store: writes `<store>.dvc` beside it and fills the shared cache;
        the workspace copy is then relinked to the cache (read-only hardlinks), so it is stored once."""
        self.configure_machine()
        with self.repo() as repo:
            stage = repo.add([str(store)])[0]
            repo.checkout(targets=[stage.path], relink=True)
        out = stage.outs[0]
        return DvcLocation(
            file=Path(stage.path).relative_to(self.root).as_posix(),
            md5=out.hash_info.value,
            nfiles=int(out.meta.nfiles),
            size=int(out.meta.size),
        )

    def untrack(self, store: Path) -> None:
        """Remove a store, its `.dvc` file and its `.gitignore` line (rollback of `track`)."""
        shutil.rmtree(store, ignore_errors=True)
        Path(f"{store}.dvc").unlink(missing_ok=True)
        ignore = store.parent / ".gitignore"
        if ignore.exists():
            lines = [line for line in ignore.read_text().splitlines() if line.strip() != f"/{store.name}"]
            if any(line.strip() for line in lines):
                ignore.write_text("\n".join(lines) + "\n")
            else:
                ignore.unlink()
        try:
            store.parent.rmdir()
        except OSError:
            pass

    # -- remotes --------------------------------------------------------------------------------
    def _config_state(self) -> tuple:
        """What the remotes are read from: the config files' stamps and $BSR_PUBLIC_REMOTE."""
        files = [self.root / ".dvc" / name for name in ("config", "config.local")]
        return (url_override(), *((f.stat().st_mtime_ns, f.stat().st_size) if f.exists() else None for f in files))

    def remotes(self) -> dict[str, dict]:
        """name → settings, plus `default`, `read_only` (served over HTTP) and `overridden` (its URL
        comes from $BSR_PUBLIC_REMOTE). Read again only when the config files or the environment
        changed: a pull asks several times, and each read opens the DVC repository."""
        self.configure_machine()
        state = self._config_state()
        if self._remotes is not None and self._remotes[0] == state:
            return self._remotes[1]
        remotes = self._read_remotes()
        self._remotes = (state, remotes)
        return remotes

    def _read_remotes(self) -> dict[str, dict]:
        with self.repo() as repo:
            config = repo.config
            default = config["core"].get("remote")
            return {
                name: {
                    **settings,
                    "default": name == default,
                    "read_only": is_http(settings.get("url", "")),
                    "overridden": name == PUBLIC_REMOTE and url_override() is not None,
                }
                for name, settings in config.get("remote", {}).items()
            }

    def default_remote(self) -> str:
        return next(name for name, settings in self.remotes().items() if settings["default"])

    def check_remote(self, name: str | None) -> str:
        remotes = self.remotes()
        if name is None:
            return self.default_remote()
        if name not in remotes:
            raise UserInputError(
                f"no remote named {name!r}.{did_you_mean(name, remotes)} Remotes: {', '.join(remotes)}",
                field="remote",
                fix="use one of the configured remotes, or add one with `bsr remote add NAME s3://bucket/prefix`",
            )
        return name

    def read_order(self, name: str | None) -> list[str]:
        """The remotes a read tries, in order: the one named, else the default then the public one."""
        chosen = self.check_remote(name)
        if name is not None or chosen == PUBLIC_REMOTE or PUBLIC_REMOTE not in self.remotes():
            return [chosen]
        return [chosen, PUBLIC_REMOTE]

    def check(self, name: str) -> RemoteCheck:
        """A remote as a read finds it: its URL and role, and why it cannot be asked (an HTTP server that
        does not answer, a directory that does not exist), or no problem."""
        settings = self.remotes()[name]
        url = settings.get("url", "")
        problem = None
        if is_http(url):
            problem = unreachable(url)
        elif "://" not in url and not Path(url).is_dir():
            problem = f"the directory {url} does not exist"
        return RemoteCheck(name, url, settings["default"], settings["overridden"], problem)

    def set_url(self, name: str, url: str, local: bool = False) -> None:
        """Point a remote at another URL, in the committed config or (`local`) this machine's only.
        The public remote is declared by the first call that names it; it may be HTTP(S)."""
        if name == LOCAL_REMOTE:
            raise UserInputError(
                f"{name!r} is the embedded local remote, at {local_remote_dir()}", field="name", fix="set $BSR_HOME to move it"
            )
        public_fix = "the public remote is read by anyone and needs no credentials: give its plain URL"
        _refuse_credentials(url, "url", public_fix if name == PUBLIC_REMOTE else _S3_CREDENTIALS_FIX)
        allowed = ("http://", "https://", "/") if name == PUBLIC_REMOTE else ("s3://", "/")
        if not url.startswith(allowed):
            raise UserInputError(
                f"remote URL {url!r} for {name!r} does not start with {' or '.join(allowed)}",
                field="url",
                fix="the public remote takes an http(s) URL (read-only; S3 with anonymous read is served over https) or an "
                "absolute directory; other remotes take s3://bucket/prefix or an absolute directory",
            )
        remotes = self.remotes()
        if name != PUBLIC_REMOTE and name not in remotes:
            raise UserInputError(
                f"no remote named {name!r}.{did_you_mean(name, remotes)}",
                field="name",
                fix=f"add it first (`bsr remote add {name} s3://bucket/prefix`)",
            )
        from dvc.config import Config

        with _quiet(), Config(str(self.root / ".dvc")).edit("local" if local else "repo") as config:
            config["remote"].setdefault(name, {})["url"] = url
        self._remotes = None

    def directory(self, name: str) -> Path | None:
        """The directory remote `name` is (the embedded one, or an absolute path), or None (S3, HTTP)."""
        url = self.remotes()[name].get("url", "")
        return Path(url) if url.startswith("/") else None

    def read_only(self, name: str) -> bool:
        return self.remotes()[name]["read_only"]

    def add_remote(self, name: str, url: str, endpoint_url: str | None = None, default: bool = False) -> None:
        """Add an S3 (or directory) remote to the committed config; never any credential: a URL or
        endpoint with credentials in it (`http://KEY:SECRET@host`, `?X-Amz-Credential=...`) is refused."""
        if name == LOCAL_REMOTE:
            raise UserInputError(f"{name!r} is the embedded local remote", field="name", fix="choose another name")
        if name == PUBLIC_REMOTE:
            raise UserInputError(
                f"{name!r} is the read-only public remote (HTTP)",
                field="name",
                fix=f"set its URL with `bsr remote set-url {PUBLIC_REMOTE} URL`, or choose another name for an S3 remote",
            )
        _refuse_credentials(url, "url")
        if endpoint_url:
            _refuse_credentials(endpoint_url, "endpoint_url")
        if not (url.startswith("s3://") or url.startswith("/")):
            raise UserInputError(
                f"remote URL {url!r} is neither s3://bucket/prefix nor an absolute directory",
                field="url",
                fix="give an S3 URL such as s3://my-bucket/brainscore-registry (an http(s) URL is for the read-only "
                f"public remote only: `bsr remote set-url {PUBLIC_REMOTE} URL`)",
            )
        with self.repo() as repo, repo.config.edit("repo") as config:
            config["remote"][name] = {"url": url, **({"endpointurl": endpoint_url} if endpoint_url else {})}
            if default:
                config["core"]["remote"] = name
        if default:
            from dvc.config import Config

            with Config(str(self.root / ".dvc")).edit("local") as local:
                local["core"].pop("remote", None)
        self._remotes = None

    # -- transfers ------------------------------------------------------------------------------
    def push(self, dvc_files: list[str], remote: str | None) -> int:
        self.configure_machine()
        if remote is not None and self.read_only(remote):
            raise UserInputError(
                f"remote {remote!r} is read-only (served over HTTP): nothing is pushed to it",
                field="remote",
                fix="push to a writable remote (the default, or `bsr remote add NAME s3://...`); maintainers upload "
                "to the place the public remote serves with `bsr publish --to DIR_OR_S3_URL`",
            )
        try:
            with self.repo() as repo:
                return int(repo.push(targets=[str(self.root / f) for f in dvc_files], remote=remote))
        except Exception as exc:  # DVC/S3 failures of any type: explained, never swallowed
            raise _explain(exc, "push", remote) from None

    def pull(self, dvc_files: list[str], remote: str | None, force: bool = False) -> None:
        """Fetch and check out; `force` replaces whatever is in the way in the workspace (a repair)."""
        self.configure_machine()
        try:
            with self.repo() as repo:
                repo.pull(targets=[str(self.root / f) for f in dvc_files], remote=remote, force=force)
        except Exception as exc:
            raise _explain(exc, "pull", remote) from None

    def checkout(self, dvc_files: list[str], force: bool = False) -> None:
        """Link versions whose objects are all in the shared cache into the workspace; no remote is asked."""
        self.configure_machine()
        try:
            with self.repo() as repo:
                repo.checkout(targets=[str(self.root / f) for f in dvc_files], force=force)
        except Exception as exc:
            raise _explain(exc, "pull", None) from None

    def recache(self, dvc_file: str) -> None:
        """Put a workspace copy's objects back into the cache (after the cache was cleared), refusing a
        copy whose bytes differ from its `.dvc` pin: that file is never rewritten here."""
        self.configure_machine()
        try:
            with self.repo() as repo:
                repo.commit(str(self.root / dvc_file), force=False)
        except Exception as exc:
            raise JobError(
                f"cannot put the workspace copy of {dvc_file} back into the DVC cache: {type(exc).__name__}: {exc}",
                file=self.root / dvc_file,
                fix="restore the copy (`bsr pull --repair NAME`), then rerun",
            ) from None

    def publish(self, dvc_files: list[str], md5s: list[str], url: str, endpoint_url: str | None = None) -> int:
        """Upload versions (manifests and files, from the cache) to `url` in DVC's remote layout, then
        check that every object is there; returns the number of objects sent."""
        self.configure_machine()
        settings = {"url": url, **({"endpointurl": endpoint_url} if endpoint_url else {})}
        extra = {"remote": {PUBLISH_REMOTE: settings}}
        try:
            with self.repo(extra) as repo:
                sent = int(repo.push(targets=[str(self.root / f) for f in dvc_files], remote=PUBLISH_REMOTE))
            missing = set(md5s) - self.held(md5s, PUBLISH_REMOTE, extra)
        except BsrError:
            raise
        except Exception as exc:
            raise _explain(exc, "publish", url) from None
        if missing:
            raise JobError(
                f"publish incomplete: {len(missing)} version(s) are not wholly at {url} after the upload",
                fix="rerun `bsr publish`: what was sent is kept and only the rest is transferred",
            )
        return sent

    def objects(self, md5: str, remote: str | None, extra: dict | None = None) -> list[str]:
        """Every object id of a tracked directory: its manifest and its files."""
        with self.repo(extra) as repo:
            return self._objects(repo, md5, remote)

    @staticmethod
    def _objects(repo, md5: str, remote: str | None) -> list[str]:
        path = repo.cache.local.oid_to_path(md5)
        if not os.path.exists(path):
            odb = repo.cloud.get_remote_odb(remote)
            try:
                manifest = json.loads(odb.fs.cat_file(odb.oid_to_path(md5)))
            except FileNotFoundError:
                return [md5]
        else:
            with open(path) as fh:
                manifest = json.load(fh)
        return [md5, *(entry["md5"] for entry in manifest)]

    def held(self, md5s: list[str], remote: str | None, extra: dict | None = None) -> set[str]:
        """The versions (by manifest md5) whose manifest and every file are in the remote."""
        if not md5s:
            return set()
        self.configure_machine()
        try:
            with self.repo(extra) as repo:
                wanted = {md5: self._objects(repo, md5, remote) for md5 in md5s}
                present = _present(repo.cloud.get_remote_odb(remote), {oid for oids in wanted.values() for oid in oids})
        except (UserInputError, JobError):
            raise
        except Exception as exc:
            raise _explain(exc, "status", remote) from None
        return {md5 for md5, oids in wanted.items() if set(oids) <= present}

    def in_remote(self, md5: str, remote: str | None) -> bool:
        """True when the manifest and every file of a version are in the remote."""
        return md5 in self.held([md5], remote)

    def cached(self, md5s: list[str]) -> set[str]:
        """The versions whose manifest and every file are in this machine's shared DVC cache (a checkout
        of them is instant and needs no remote)."""
        self.configure_machine()
        found = set()
        with self.repo() as repo:
            cache = repo.cache.local
            for md5 in md5s:
                manifest = cache.oid_to_path(md5)
                if not os.path.exists(manifest):
                    continue
                try:
                    with open(manifest) as fh:
                        oids = [entry["md5"] for entry in json.load(fh)]
                except (OSError, ValueError, KeyError, TypeError):
                    continue
                if all(os.path.exists(cache.oid_to_path(oid)) for oid in oids):
                    found.add(md5)
        return found

    def purge_cache(self, md5: str) -> None:
        """Drop a version's objects from the local cache (after its pulled copy failed verification)."""
        with self.repo() as repo:
            manifest_path = repo.cache.local.oid_to_path(md5)
            oids = [md5]
            if os.path.exists(manifest_path):
                with open(manifest_path) as fh:
                    oids += [entry["md5"] for entry in json.load(fh)]
            for oid in oids:
                path = repo.cache.local.oid_to_path(oid)
                if os.path.exists(path):
                    os.unlink(path)
