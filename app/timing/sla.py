"""Time standards of SOP steps ("Waktu", column 9 of the SOP): "1 Jam", "30 Menit", "2 Hari"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class SlaUnit(StrEnum):
    menit = "menit"
    jam = "jam"
    hari = "hari"


_UNIT_SECONDS: dict[SlaUnit, int] = {SlaUnit.menit: 60, SlaUnit.jam: 3600, SlaUnit.hari: 86_400}

# ASCII digits only: `\d` would also accept Arabic-Indic and other Unicode digits.
_PATTERN = re.compile(r"^\s*([0-9]+)\s*(menit|jam|hari)\s*$", re.IGNORECASE)
# A year is far beyond any step of the SOP; anything longer is a typing mistake.
MAX_SECONDS = 366 * 86_400


@dataclass(frozen=True)
class Sla:
    """A parsed time standard.

    `text` is the canonical spelling ("2 Hari"), whatever spacing or case was given.
    """

    text: str
    amount: int
    unit: SlaUnit

    @property
    def seconds(self) -> int:
        """The standard in seconds; on a working-day calendar these are working-day seconds."""
        return self.amount * _UNIT_SECONDS[self.unit]


def parse_sla(text: str) -> Sla:
    """Parse "1 Jam", " 2  HARI", "30 menit"; raise ValueError naming the text otherwise.

    Only whole positive amounts of Menit, Jam or Hari are standards: "1.5 Jam", "0 Jam",
    "3 Minggu" and "" are refused.
    """
    match = _PATTERN.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"not a time standard: {text!r} (expected a whole number and Menit, Jam or Hari)"
        )
    amount = int(match.group(1))
    unit = SlaUnit(match.group(2).lower())
    if amount < 1 or amount * _UNIT_SECONDS[unit] > MAX_SECONDS:
        raise ValueError(f"not a time standard: {text!r} (must be more than 0 and at most a year)")
    return Sla(text=f"{amount} {unit.value.capitalize()}", amount=amount, unit=unit)


_UNITS = (("hari", 86_400), ("jam", 3600), ("menit", 60), ("detik", 1))


def elapsed_text(seconds: int) -> str:
    """Seconds in Indonesian: the largest unit and the next one when not zero.

    "1 jam 12 menit", "2 hari 3 jam", "45 detik"; smaller remainders are dropped.
    """
    seconds = max(0, int(seconds))
    for index, (name, size) in enumerate(_UNITS):
        if seconds >= size or size == 1:
            value, rest = divmod(seconds, size)
            text = f"{value} {name}"
            if index + 1 < len(_UNITS):
                next_name, next_size = _UNITS[index + 1]
                if rest // next_size:
                    text += f" {rest // next_size} {next_name}"
            return text
    raise AssertionError("unreachable")
