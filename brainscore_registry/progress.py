"""The one progress callback every long operation takes: `progress(stage, done, total)`.

Stages: 'read', 'hash', 'write', 'verify', 'push', 'pull' (bytes or files), 'extract <model>.<layer>'
(images), and metric stages such as 'pls: 10 splits, components'. The library only calls it; the CLI
renders it (rich progress bars), so nothing below the CLI knows about terminals.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]
