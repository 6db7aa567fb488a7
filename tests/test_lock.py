"""The test environment is reproducible: the lock pins everything the ranges ask for, and CI runs the
README's own test command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements-dev.lock"
PINNED_IN_COMMAND = {"torch"}  # the README's command installs it first, so the lock leaves it out


def requirements(path: Path) -> list[Requirement]:
    """The requirements of a pip requirements file, following ``-r`` includes."""
    found = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found += requirements(path.parent / line[3:].strip())
        elif line:
            found.append(Requirement(line))
    return found


def locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line.strip())
        assert match, f"requirements-dev.lock has a line that is not an exact pin: {line!r}"
        pins[canonicalize_name(match[1])] = match[2]
    return pins


@pytest.mark.parametrize("source", ["requirements.txt", "requirements-dev.txt"])
def test_every_range_is_locked_to_a_version_it_admits(source):
    pins = locked()
    for req in requirements(ROOT / source):
        name = canonicalize_name(req.name)
        if name in PINNED_IN_COMMAND:
            continue
        assert name in pins, f"{req.name} ({source}) is not in requirements-dev.lock: refresh the lock (README)"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{source} asks {req}, the lock has {pins[name]}: refresh the lock (README)")


def test_the_lock_leaves_out_torch_and_its_cuda_packages():
    pins = locked()
    assert "torch" not in pins
    assert not [name for name in pins if name.startswith("nvidia-") or name == "triton"], \
        "the lock was resolved against a CUDA build of torch; resolve it against the CPU build (README)"


def test_ci_runs_the_readme_test_command_word_for_word():
    readme = (ROOT / "README.md").read_text()
    commands = [line for line in readme.splitlines() if line.startswith("python -m pip install") and "pytest" in line]
    assert len(commands) == 1, commands
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert commands[0] in ci
    assert "requirements-dev.lock" in commands[0]
    assert any(re.match(r"python3? -m venv ", line) for line in ci), ".ci/run must start from a new venv"
