"""The libraries that parse what attackers send are at or above the releases that fixed their
known vulnerabilities, both as installed and as pyproject.toml requires them:

- python-jose 3.5.0: algorithm confusion with OpenSSH ECDSA keys and JWE decompression
  bombs (CVE-2024-33663, CVE-2024-33664);
- python-multipart 0.0.34: the multipart parser's denial-of-service fixes;
- starlette 1.3.1: the release with those parsers;
- fastapi 0.121: the first with dependencies of `scope="function"`, whose exit (the
  request's one commit) runs before the response is sent.

The lock files pin every dependency, with hashes, at releases pyproject.toml allows.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

FLOORS = {
    "python-jose": "3.5.0",
    "python-multipart": "0.0.34",
    "starlette": "1.3.1",
    "fastapi": "0.121",
}
# The release before each floor, which pyproject.toml must not allow.
BELOW = {
    "python-jose": "3.4.0",
    "python-multipart": "0.0.33",
    "starlette": "1.3.0",
    "fastapi": "0.120.4",
}
ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
LOCKS = {"requirements.lock": False, "requirements-dev.lock": True}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^ ;\\]+)", re.M)


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw.lower())


def _pins(lock: str) -> dict[str, str]:
    return {_name(name): pinned for name, pinned in _PIN.findall((ROOT / lock).read_text())}


@pytest.mark.parametrize(("package", "floor"), FLOORS.items())
def test_installed_version_is_at_least_the_floor(package: str, floor: str) -> None:
    assert Version(version(package)) >= Version(floor), (package, version(package))


def test_pyproject_requires_the_floors() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    required = {}
    for line in dependencies:
        requirement = Requirement(line)
        required[re.sub(r"[-_.]+", "-", requirement.name.lower())] = requirement.specifier
    for package, floor in FLOORS.items():
        specifier = required[package]
        assert specifier.contains(floor) or specifier.contains(floor + ".0"), (package, floor)
        assert specifier.contains(version(package)), (package, str(specifier))
        assert not specifier.contains(BELOW[package]), (package, str(specifier))
        assert not specifier.contains("0.0.1"), (package, str(specifier))


@pytest.mark.parametrize(("lock", "with_dev"), LOCKS.items())
def test_the_lock_pins_every_requirement_within_pyproject(lock: str, with_dev: bool) -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    wanted = list(project["dependencies"])
    if with_dev:
        wanted += project["optional-dependencies"]["dev"]
    pins = _pins(lock)
    for line in wanted:
        requirement = Requirement(line)
        pinned = pins.get(_name(requirement.name))
        assert pinned is not None, f"{requirement.name} is not in {lock}; run make lock"
        assert requirement.specifier.contains(pinned, prereleases=True), (lock, line, pinned)
    for package, floor in FLOORS.items():
        assert Version(pins[package]) >= Version(floor), (lock, package)


@pytest.mark.parametrize("lock", LOCKS)
def test_every_pin_carries_its_hashes(lock: str) -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / lock).read_text().split("\n", 2)[-1])
    pinned = [block for block in blocks if "==" in block.split("\n", 1)[0]]
    assert pinned
    for block in pinned:
        assert "--hash=sha256:" in block, block.split("\n", 1)[0]


def test_the_runtime_lock_holds_no_tools() -> None:
    assert not {"pytest", "ruff", "mypy", "uv"} & set(_pins("requirements.lock"))
