"""The libraries that parse what attackers send are at or above the releases that fixed their
known vulnerabilities, both as installed and as pyproject.toml requires them:

- python-jose 3.5.0: algorithm confusion with OpenSSH ECDSA keys and JWE decompression
  bombs (CVE-2024-33663, CVE-2024-33664);
- python-multipart 0.0.34: the multipart parser's denial-of-service fixes;
- starlette 1.3.1 and fastapi 0.120: the releases with those parsers and the routing this
  service is built on.
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
    "fastapi": "0.120",
}
# The release before each floor, which pyproject.toml must not allow.
BELOW = {
    "python-jose": "3.4.0",
    "python-multipart": "0.0.33",
    "starlette": "1.3.0",
    "fastapi": "0.119.1",
}
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


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
