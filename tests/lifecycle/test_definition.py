"""The SOP definition file agrees with the SOP table it was transcribed from, row by row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.sop.definition import load_definition, parse_definition

SEED = Path(__file__).resolve().parents[1] / "fixtures" / "sop-penanganan-unjuk-rasa.txt"
ROLE_WORDS = {
    "camat": "Camat",
    "sekcam": "Sekcam",
    "kasi_trantib": "Kasi",
    "danru": "Danru",
    "anggota": "Anggota",
}


def seed_rows() -> dict[int, list[str]]:
    """Step number → its tab-separated cells, non-empty, as in the SOP table."""
    rows: dict[int, list[str]] = {}
    for line in SEED.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^(\d+)\.\t", line)
        if match:
            rows[int(match.group(1))] = [c.strip() for c in line.split("\t") if c.strip()]
    return rows


def test_seed_has_eleven_steps() -> None:
    assert sorted(seed_rows()) == list(range(1, 12))


@pytest.mark.parametrize("number", range(1, 12))
def test_step_matches_the_seed_row(number: int) -> None:
    row = seed_rows()[number]
    step = load_definition().step(number)
    # Cells: number, uraian, kelengkapan, waktu, output.
    uraian, kelengkapan, waktu, output = row[1], row[-3], row[-2], row[-1]
    assert step.uraian == uraian
    items = [re.sub(r"^dan ", "", item.strip()) for item in kelengkapan.split(",")]
    assert list(step.kelengkapan) == items
    assert step.waktu == waktu
    assert step.output == output
    # The actor named in the uraian is the step's actor.
    first_actor = step.actors[0]
    assert ROLE_WORDS[first_actor] in uraian or (
        first_actor == "kasi_trantib" and "Ketentraman dan Ketertiban Umum" in uraian
    )


def test_step_11_output_slip_is_noted() -> None:
    step = load_definition().step(11)
    assert step.output == "Surat Perintah"
    assert step.output_note and "slip" in step.output_note


def test_step_4_runs_kasi_then_sekcam_then_camat() -> None:
    step = load_definition().step(4)
    assert step.actors == ("kasi_trantib", "sekcam", "camat")
    assert step.stages == ("review", "paraf", "verify")
    assert step.correction_returns_to == 3
    assert load_definition().step(10).correction_returns_to == 9


def test_calendars_follow_the_units() -> None:
    for step in load_definition().steps:
        expected = "working_days" if step.waktu.endswith("Hari") else "wall"
        assert step.calendar == expected, step.number


def test_unknown_time_standard_fails_naming_the_step() -> None:
    text = Path(__file__).resolve().parents[2] / "app/sop/definitions/unjuk-rasa-v1.toml"
    broken = text.read_text(encoding="utf-8").replace('waktu = "30 Menit"', 'waktu = "3 Minggu"')
    with pytest.raises(ValueError, match="step 7"):
        parse_definition(broken)


def test_sop_endpoint_serves_the_definition(client, auth) -> None:
    response = client.get("/api/v1/sop", headers=auth("anggota1.ciledug"))
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == "unjuk-rasa-v1"
    assert [s["waktu"] for s in body["steps"]] == [
        "1 Jam",
        "1 Jam",
        "1 Jam",
        "2 Jam",
        "2 Jam",
        "1 Jam",
        "30 Menit",
        "1 Jam",
        "2 Hari",
        "1 Hari",
        "10 Menit",
    ]


def test_sop_endpoint_refusals(client, auth) -> None:
    assert client.get("/api/v1/sop").status_code == 401
    missing = client.get("/api/v1/sop?version=v0", headers=auth("camat.ciledug"))
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/not-found")
