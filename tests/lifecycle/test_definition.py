"""The SOP definition file agrees with the SOP table it was transcribed from, row by row."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from app.core.config import Settings
from app.main import StartupRefused, check_startup, startup_problems
from app.sop.definition import DefinitionError, load_definition, parse_definition
from tests.lifecycle.flow import Flow
from tests.lifecycle.sop import FILES, FIXTURES, ROOT, SHIPPED, V1, V2, active, definition

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
    assert client.get("/api/v1/sop/versions").status_code == 401
    assert client.get("/api/v1/sop/versions/unjuk-rasa-v1").status_code == 401
    for url in (
        "/api/v1/sop?version=v0",
        "/api/v1/sop/versions/v0",
        # A version is looked up among the known definitions, never read from a path.
        "/api/v1/sop?version=../../../pyproject",
        "/api/v1/sop/versions/..%2F..%2F..%2Fpyproject",
    ):
        missing = client.get(url, headers=auth("camat.ciledug"))
        assert missing.status_code == 404, url
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["type"].endswith("/not-found")


def test_versions_are_listed_with_the_active_one(client, auth) -> None:
    body = client.get("/api/v1/sop/versions", headers=auth("danru.ciledug")).json()
    assert body["active"] == V1
    assert [(i["version"], i["steps"], i["active"]) for i in body["items"]] == [
        (V1, definition(V1).last_step, True),
        (V2, definition(V2).last_step, False),
    ]
    one = client.get(f"/api/v1/sop/versions/{V2}", headers=auth("danru.ciledug"))
    assert one.status_code == 200
    assert [s["code"] for s in one.json()["steps"]] == [s.code for s in definition(V2).steps]
    with active(V2):
        assert client.get("/api/v1/sop", headers=auth("danru.ciledug")).json()["version"] == V2


SHIPPED_TEXT = (SHIPPED / f"{V1}.toml").read_text(encoding="utf-8")


def _broken(old: str, new: str, count: int = 1) -> str:
    assert SHIPPED_TEXT.count(old) >= count, old
    return SHIPPED_TEXT.replace(old, new, count)


# Each unsound definition, and what the one-line refusal must name: the step and the field.
UNSOUND = {
    "time standard that does not parse": (
        _broken('waktu = "30 Menit"', 'waktu = "3 Minggu"'),
        "step 7 (persiapan_pengarahan), field waktu",
    ),
    "unknown scope": (
        _broken('scope = "orders:dispatch"', 'scope = "orders:sign"'),
        "step 6 (perintah_pelaksanaan), field rules[0].scope: unknown scope 'orders:sign'",
    ),
    "action no role can take (the role lacks the scope)": (
        _broken(
            'role = "camat"\nscope = "orders:validate"', 'role = "danru"\nscope = "orders:validate"'
        ),
        "step 5 (validasi_surat_perintah), field rules[0].scope",
    ),
    "action no rule takes": (
        _broken('completes_with = ["instruct"]', 'completes_with = ["order_dispatch"]'),
        "step 2 (arahan_kasi), field completes_with: no rule of the step takes 'order_dispatch'",
    ),
    "unknown action": (
        _broken('actions = ["briefing"]', 'actions = ["apel"]'),
        "step 7 (persiapan_pengarahan), field rules[0].actions: unknown action 'apel'",
    ),
    "correction to a later step": (
        _broken("correction_returns_to = 3", "correction_returns_to = 5"),
        "step 4 (verifikasi_draft), field correction_returns_to: a correction must return to "
        "an earlier step",
    ),
    "stage without an actor": (
        _broken(
            'stages = ["review", "paraf", "verify"]',
            'stages = ["review", "paraf", "verify", "ttd"]',
        ),
        "step 4 (verifikasi_draft), field stages: the stage 'ttd' has no actor",
    ),
    "rule at a stage the step does not have": (
        _broken('stage = "paraf"', 'stage = "koreksi"'),
        "step 4 (verifikasi_draft), field rules[1].stage",
    ),
    "assignment nobody names before": (
        _broken('assignment = "instructed_danru"', 'assignment = "briefed_member"'),
        "step 3 (draft_surat_perintah), field rules[0].assignment",
    ),
    "unknown role": (
        _broken('role = "sekcam"', 'role = "lurah"'),
        "step 4 (verifikasi_draft), field rules[1].role",
    ),
    "unknown field": (
        _broken('waktu = "1 Jam"', 'waktu = "1 Jam"\nwaktu_kerja = true'),
        "step 1, field waktu_kerja: Extra inputs are not permitted",
    ),
    "cancel beyond the last step": (
        _broken("to_step = 7", "to_step = 12"),
        "field incident_actions[0]: steps 1 to 12 do not exist",
    ),
}


@pytest.mark.parametrize("case", sorted(UNSOUND))
def test_unsound_definition_is_refused_naming_step_and_field(case: str) -> None:
    text, named = UNSOUND[case]
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text, source="unjuk-rasa-v9.toml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("unjuk-rasa-v9.toml: "), message
    assert named in message, message


def _settings(folder: Path, **values: Any) -> Settings:
    """The test server's settings (its database), with another definitions folder."""
    return Settings(sop_definitions_dir=folder, **values)


def test_start_up_refuses_an_unsound_file_in_one_line(tmp_path: Path) -> None:
    text, named = UNSOUND["stage without an actor"]
    (tmp_path / "unjuk-rasa-v9.toml").write_text(
        text.replace('version = "unjuk-rasa-v1"', 'version = "unjuk-rasa-v9"'), encoding="utf-8"
    )
    with pytest.raises(StartupRefused) as caught:
        check_startup(_settings(tmp_path))
    message = str(caught.value)
    assert "\n" not in message
    assert f"{tmp_path / 'unjuk-rasa-v9.toml'}: {named}" in message


def test_start_up_refuses_a_file_named_for_another_version(tmp_path: Path) -> None:
    (tmp_path / "unjuk-rasa-v9.toml").write_text(SHIPPED_TEXT, encoding="utf-8")
    problems = startup_problems(_settings(tmp_path))
    assert any("field version: 'unjuk-rasa-v1' differs from the file name" in p for p in problems)


def test_start_up_refuses_an_unknown_active_version(tmp_path: Path) -> None:
    problems = startup_problems(_settings(tmp_path, sop_version="unjuk-rasa-v7"))
    assert any("TRANTIB_SOP_VERSION names 'unjuk-rasa-v7'" in p for p in problems), problems


def test_start_up_refuses_incidents_of_a_version_without_its_file(
    flow: Flow, tmp_path: Path, engine: Engine
) -> None:
    with active(V2):
        flow.create()
    # Without the folder holding v2, the server would not know the incident's version.
    missing = startup_problems(_settings(tmp_path / "empty", sop_version=V1))
    assert any(f"SOP version(s) {V2}, which no definition file holds" in p for p in missing)
    assert startup_problems(_settings(FIXTURES, sop_version=V1)) == []


def test_versions_named_by_migrations_and_fixtures_have_their_files() -> None:
    """A version an incident can hold is never deleted: every version a migration, the
    benchmark or a test names is a definition file (shipped, or the tests' own revision)."""
    named: set[str] = set()
    for folder in ("migrations", "bench", "scripts", "tests", "app"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == Path(__file__).resolve():
                continue  # this module's own unsound examples
            named.update(re.findall(r"unjuk-rasa-v\d+", path.read_text(encoding="utf-8")))
    shipped = {p.stem for p in SHIPPED.glob("*.toml")}
    assert V1 in named
    assert named <= set(FILES), named - set(FILES)
    for path in (ROOT / "migrations").rglob("*.py"):
        assert set(re.findall(r"unjuk-rasa-v\d+", path.read_text(encoding="utf-8"))) <= shipped
