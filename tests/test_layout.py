"""The structure the README promises: scripts and benchmarks import the installed project, not a patched path."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for folder in ("explorer", "benchmarks", "scripts", "tests") for p in (ROOT / folder).rglob("*.py"))


def test_nothing_edits_sys_path():
    patching = [str(p.relative_to(ROOT)) for p in SOURCES
                if re.search(r"sys\.path\.(insert|append)\(|sys\.path\s*=", p.read_text())]
    assert not patching, f"{patching} edit sys.path: install the project (README) and run scripts as python -m <module>"
