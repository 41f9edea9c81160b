"""The public remote: where a registry's maintainers publish its data for anyone to pull, read-only.

A fresh clone has no data and, until someone sets up S3 for it, no remote that holds any. So the
committed `.dvc/config` declares one more remote, `public`: a DVC HTTP remote (a static web server or
an S3 bucket with anonymous read, serving what `bsr publish` uploaded in DVC's layout,
`files/md5/<2>/<30>`). Pulls fall back to it after the default remote, and it never needs
credentials. It is read-only: nothing pushes to it over HTTP; maintainers upload with `bsr publish`.

Its URL can be changed for one machine without touching the committed config: `bsr remote set-url
public URL --local` (written to the git-ignored `.dvc/config.local`), or for one process with the
environment variable `BSR_PUBLIC_REMOTE`, which wins over both files (and declares the remote in a
registry that has none, e.g. a mirror on a closed network, or a test server).
"""

from __future__ import annotations

import os
import socket
import urllib.error
import urllib.request

PUBLIC_REMOTE = "public"
PUBLIC_URL_ENV = "BSR_PUBLIC_REMOTE"
PROBE_TIMEOUT_S = 5.0


def url_override() -> str | None:
    """The public remote's URL for this process (`$BSR_PUBLIC_REMOTE`), or None."""
    url = os.environ.get(PUBLIC_URL_ENV, "").strip()
    return url or None


def config_override() -> dict:
    """DVC configuration merged over the config files when a repository is opened."""
    url = url_override()
    return {"remote": {PUBLIC_REMOTE: {"url": url}}} if url else {}


def is_http(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def unreachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """Why an HTTP remote cannot be reached, or None when its server answers (any HTTP status counts:
    a static host may well refuse to list its root). Asked once per command, with a short timeout,
    so that a machine without network learns so in seconds instead of through DVC's retries."""
    request = urllib.request.Request(url.rstrip("/") + "/", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return f"no answer within {timeout:g} s"
        return str(getattr(reason, "strerror", None) or reason)
    except (TimeoutError, socket.timeout):
        return f"no answer within {timeout:g} s"
    except (OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
