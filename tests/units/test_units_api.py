"""GET /units and /units/{code_or_slug} (scope units:read)."""

from __future__ import annotations

import pytest

from app.core.config import get_settings
from app.units.data import KECAMATAN

PROBLEMS = "https://trantib.tangerangkota.go.id/problems/"
UNITS = "/api/v1/units"


def kind(response) -> str:  # type: ignore[no-untyped-def]
    assert response.headers["content-type"] == "application/problem+json", response.text
    return response.json()["type"].removeprefix(PROBLEMS)


@pytest.mark.parametrize("username", ["camat.ciledug", "anggota1.benda", "pimpinan", "admin"])
def test_every_role_lists_the_13_kecamatan(client, auth, username):
    response = client.get(UNITS, headers=auth(username))
    assert response.status_code == 200
    units = response.json()
    assert [u["code"] for u in units] == [f"36.71.{n:02d}" for n in range(1, 14)]
    assert [u["name"] for u in units] == [k.name for k in KECAMATAN]
    assert all(set(u) == {"id", "code", "name", "slug", "kelurahan"} for u in units)


def test_kelurahan_carry_names_and_codes(client, auth):
    units = {u["slug"]: u for u in client.get(UNITS, headers=auth("admin")).json()}
    ciledug = units["ciledug"]
    assert ciledug["id"] == 6
    assert ciledug["kelurahan"][0] == {"code": "36.71.06.1001", "name": "Paninggilan"}
    assert len(ciledug["kelurahan"]) == 8
    assert sum(len(u["kelurahan"]) for u in units.values()) == sum(
        len(k.kelurahan) for k in KECAMATAN
    )


@pytest.mark.parametrize("key", ["36.71.12", "karangtengah", "KarangTengah"])
def test_one_kecamatan_by_code_or_slug(client, auth, key):
    response = client.get(f"{UNITS}/{key}", headers=auth("danru.ciledug"))
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["code"], body["name"], body["slug"]) == (
        12,
        "36.71.12",
        "Karang Tengah",
        "karangtengah",
    )
    assert {"code": "36.71.12.1001", "name": "Karang Tengah"} in body["kelurahan"]


@pytest.mark.parametrize("key", ["36.71.99", "jakarta", "6"])
def test_unknown_kecamatan_is_404(client, auth, key):
    response = client.get(f"{UNITS}/{key}", headers=auth("admin"))
    assert response.status_code == 404
    assert kind(response) == "not-found"


@pytest.mark.parametrize("path", [UNITS, f"{UNITS}/ciledug"])
def test_anonymous_is_401(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert kind(response) == "unauthorized"


@pytest.mark.parametrize("path", [UNITS, f"{UNITS}/ciledug"])
def test_token_without_units_read_is_403(client, path):
    form = {
        "grant_type": "password",
        "username": "camat.ciledug",
        "password": get_settings().demo_password,
        "scope": "incidents:read",
    }
    token = client.post("/api/v1/auth/token", data=form).json()["access_token"]
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert kind(response) == "insufficient-scope"
