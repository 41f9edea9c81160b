"""The README's Quick start is what CI runs, literally."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_quick_start():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", readme, re.S).group(1).strip().splitlines()
    assert len(block) == 3, "one command installs, one runs the demo, one runs the tests"
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    for command in block:
        assert command in ci, command
    assert block[1].endswith("bsr demo") and "pytest" in block[2]
