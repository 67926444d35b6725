"""Parsing the SOP's time standards (Waktu, column 9)."""

from __future__ import annotations

import pytest

from app.timing.sla import Sla, SlaUnit, parse_sla


@pytest.mark.parametrize(
    ("text", "canonical", "amount", "unit", "seconds"),
    [
        ("1 Jam", "1 Jam", 1, SlaUnit.jam, 3600),
        ("2 Jam", "2 Jam", 2, SlaUnit.jam, 7200),
        ("30 Menit", "30 Menit", 30, SlaUnit.menit, 1800),
        ("10 Menit", "10 Menit", 10, SlaUnit.menit, 600),
        ("1 Hari", "1 Hari", 1, SlaUnit.hari, 86_400),
        ("2 Hari", "2 Hari", 2, SlaUnit.hari, 172_800),
        ("1 jam", "1 Jam", 1, SlaUnit.jam, 3600),
        (" 2  HARI", "2 Hari", 2, SlaUnit.hari, 172_800),
        ("\t30menit\n", "30 Menit", 30, SlaUnit.menit, 1800),
        ("045 Menit", "45 Menit", 45, SlaUnit.menit, 2700),
        ("366 Hari", "366 Hari", 366, SlaUnit.hari, 366 * 86_400),
    ],
)
def test_parses_every_standard(
    text: str, canonical: str, amount: int, unit: SlaUnit, seconds: int
) -> None:
    sla = parse_sla(text)
    assert sla == Sla(text=canonical, amount=amount, unit=unit)
    assert sla.seconds == seconds


@pytest.mark.parametrize(
    "text",
    [
        "3 Minggu",
        "",
        "   ",
        "1.5 Jam",
        "1,5 Jam",
        "0 Jam",
        "-1 Jam",
        "Jam",
        "1",
        "satu Jam",
        "1 Jam 30 Menit",
        "2 Hari kerja",
        "\u0662 Jam",
        "367 Hari",
        "1 jams",
    ],
)
def test_refuses_anything_else_naming_the_text(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_sla(text)
    assert repr(text) in str(caught.value)


def test_sla_is_immutable_and_hashable() -> None:
    sla = parse_sla("1 Jam")
    with pytest.raises(AttributeError):
        sla.amount = 2  # type: ignore[misc]
    assert {sla, parse_sla("1 jam")} == {sla}


def test_unit_values_are_lowercase_indonesian() -> None:
    assert [u.value for u in SlaUnit] == ["menit", "jam", "hari"]
