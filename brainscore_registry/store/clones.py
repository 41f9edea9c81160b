"""Registries reached by git location (a URL or a bare repository), DVC's data-registry pattern.

`bsr --registry <git location> ...` keeps a read-only working clone of the registry under
`$BSR_HOME/registries/`, refreshed on every use. Its catalogue and `.dvc` pins come from git; its
data come from the registry's DVC remote into the shared, content-addressed DVC cache under
`$BSR_HOME/cache`, hardlinked into the clone, so two registries pinning one version store it once.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

from ..errors import UserInputError
from ..paths import REGISTRY_MARKER, bsr_home

_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@)", re.I)


def is_git_location(text: str) -> bool:
    """A git URL, or a local repository that is not itself a registry checkout (e.g. a bare clone)."""
    if _URL.match(text):
        return True
    path = Path(text).expanduser()
    return path.is_dir() and not (path / REGISTRY_MARKER).is_dir() and (path / "HEAD").is_file() and (path / "objects").is_dir()


def _git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)


def clone_dir(location: str) -> Path:
    key = hashlib.sha256(location.encode()).hexdigest()[:16]
    return bsr_home() / "registries" / key


def checkout(location: str) -> Path:
    """Clone the registry at `location` (or refresh the clone) and return its working tree."""
    url = location if _URL.match(location) else str(Path(location).expanduser().resolve())
    target = clone_dir(url)
    if (target / ".git").is_dir():
        fetched = _git("fetch", "-q", "--depth", "1", "origin", "HEAD", cwd=target)
        if fetched.returncode == 0:
            _git("reset", "-q", "--hard", "FETCH_HEAD", cwd=target)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        cloned = _git("clone", "-q", "--depth", "1", url, str(target))
        if cloned.returncode != 0:
            raise UserInputError(
                f"cannot clone the registry: {cloned.stderr.strip()}",
                file=location,
                fix="check the git URL or path (a bare clone or a URL git can fetch), and your git credentials",
            )
    if not (target / REGISTRY_MARKER).is_dir():
        raise UserInputError(
            f"the repository has no {REGISTRY_MARKER}/: not a bsr registry",
            file=location,
            fix="point --registry at a brainscore-registry repository",
        )
    return target
