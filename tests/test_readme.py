"""The README's generated tables match the code: role -> scope, and every setting's default.

When one fails, the message holds the table to paste between the README's markers.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path

from pydantic_core import PydanticUndefined

from app.auth.roles import ROLE_SCOPES, Role
from app.auth.scopes import SCOPE_DESCRIPTIONS, Scope
from app.core.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def _between(marker: str) -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(rf"<!-- {marker}:begin -->\n(.*?)<!-- {marker}:end -->", text, re.S)
    assert found, f"README.md has no <!-- {marker}:begin --> ... <!-- {marker}:end --> block"
    return found.group(1)


def role_scope_table() -> str:
    roles = list(Role)
    lines = [
        "| scope | allows | " + " | ".join(f"`{r}`" for r in roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for scope in Scope:
        marks = " | ".join("✓" if scope in ROLE_SCOPES[r] else "" for r in roles)
        lines.append(f"| `{scope}` | {SCOPE_DESCRIPTIONS.get(scope, '')} | {marks} |")
    return "\n".join(lines) + "\n"


def _shown(value: object) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list | tuple | set) and not value:
        return "(empty)"
    return str(value)


def setting_defaults() -> dict[str, str]:
    defaults = {}
    for name, field in Settings.model_fields.items():
        value = field.default
        if value is PydanticUndefined and field.default_factory is not None:
            value = field.default_factory()  # type: ignore[call-arg]
        defaults[f"TRANTIB_{name.upper()}"] = _shown(value)
    return defaults


def test_role_scope_table_matches_the_code() -> None:
    expected = role_scope_table()
    assert _between("role-scopes") == expected, (
        "README role/scope table is out of date; paste this between its markers:\n\n" + expected
    )


def test_every_setting_is_documented_with_its_default() -> None:
    rows = re.findall(r"^\| `(TRANTIB_[A-Z0-9_]+)` \| `([^`]*)` \|", _between("settings"), re.M)
    documented = dict(rows)
    expected = setting_defaults()
    assert documented == expected, (
        "README settings table differs from app/core/config.py; rows should start:\n\n"
        + "\n".join(f"| `{name}` | `{default}` |" for name, default in expected.items())
    )
