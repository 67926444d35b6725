"""The service clients admin API (scope clients:admin): register, list, read, change, rotate."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from app.clients.models import ServiceClient
from app.core.security import hash_opaque_token
from tests.clients.conftest import CLIENTS, READ_SCOPES, problem

UNKNOWN = f"{CLIENTS}/cli_doesnotexist"


class TestAccess:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", CLIENTS),
            ("POST", CLIENTS),
            ("GET", UNKNOWN),
            ("PATCH", UNKNOWN),
            ("POST", f"{UNKNOWN}/rotate-secret"),
        ],
    )
    def test_anonymous_is_401(self, client, method, path):
        response = client.request(method, path, json={})
        problem(response, 401, "unauthorized")

    @pytest.mark.parametrize("who", ["camat.ciledug", "pimpinan"])
    @pytest.mark.parametrize(
        ("method", "path"),
        [("GET", CLIENTS), ("POST", CLIENTS), ("GET", UNKNOWN), ("PATCH", UNKNOWN)],
    )
    def test_without_clients_admin_is_403(self, client, auth, who, method, path):
        body = {"name": "Sistem", "scopes": ["incidents:read"]} if method == "POST" else {}
        response = client.request(method, path, json=body, headers=auth(who))
        problem(response, 403, "insufficient-scope")

    def test_a_client_token_cannot_administer_clients(self, client, register, bearer):
        headers = bearer(register())
        problem(client.get(CLIENTS, headers=headers), 403, "insufficient-scope")
        body = {"name": "Sistem lain", "scopes": ["incidents:read"]}
        problem(client.post(CLIENTS, json=body, headers=headers), 403, "insufficient-scope")

    @pytest.mark.parametrize(
        ("method", "suffix"),
        [("GET", ""), ("PATCH", ""), ("POST", "/rotate-secret")],
    )
    def test_unknown_client_is_404(self, client, auth, method, suffix):
        response = client.request(method, UNKNOWN + suffix, json={}, headers=auth("admin"))
        problem(response, 404, "not-found")

    def test_overlong_client_id_is_422(self, client, auth):
        response = client.get(f"{CLIENTS}/cli_{'x' * 60}", headers=auth("admin"))
        problem(response, 422, "validation-error")


class TestCreate:
    def test_secret_shown_once_and_stored_hashed(self, client, auth, engine):
        body = {
            "name": "Aplikasi Kecamatan Ciledug",
            "description": "Pelaporan warga",
            "scopes": ["incidents:write", "incidents:read", "incidents:read"],
            "unit": "ciledug",
        }
        response = client.post(CLIENTS, json=body, headers=auth("admin"))
        assert response.status_code == 201, response.text
        created = response.json()
        assert response.headers["Location"] == f"{CLIENTS}/{created['client_id']}"
        assert response.headers["Cache-Control"] == "no-store"
        assert created["client_id"].startswith("cli_")
        secret = created["client_secret"]
        assert len(secret) >= 40
        assert created["scopes"] == ["incidents:read", "incidents:write"]
        assert created["unit"]["slug"] == "ciledug"
        assert created["active"] is True
        assert created["last_token_at"] is None
        with Session(engine) as session:
            row = session.exec(
                select(ServiceClient).where(ServiceClient.client_id == created["client_id"])
            ).one()
            assert row.secret_hash == hash_opaque_token(secret)
            assert secret not in row.model_dump_json()

    def test_secret_never_in_reads(self, client, auth, register, engine):
        created = register()
        secret = created["client_secret"]
        with Session(engine) as session:
            stored_hash = session.exec(select(ServiceClient.secret_hash)).one()
        one = client.get(f"{CLIENTS}/{created['client_id']}", headers=auth("admin"))
        listed = client.get(CLIENTS, headers=auth("admin"))
        patched = client.patch(
            f"{CLIENTS}/{created['client_id']}", json={"name": "Baru"}, headers=auth("admin")
        )
        for response in (one, listed, patched):
            assert response.status_code == 200, response.text
            assert secret not in response.text
            assert stored_hash not in response.text
            assert "secret_hash" not in response.text
            assert "client_secret" not in response.text

    def test_city_wide_with_unit_id(self, register):
        assert register()["unit"] is None
        by_id = register(name="Sistem Larangan", unit_id=13)
        assert by_id["unit"]["slug"] == "larangan"

    @pytest.mark.parametrize(
        "scopes",
        [
            ["users:admin"],
            ["orders:command"],
            ["verifications:review"],
            ["field-reports:write"],
            ["clients:admin"],
            ["tasks:read"],
            ["incidents:read", "archive:write"],
            ["no-such:scope"],
            [],
        ],
    )
    def test_scopes_outside_the_client_list_are_422(self, client, auth, scopes):
        body = {"name": "Sistem", "scopes": scopes}
        problem(client.post(CLIENTS, json=body, headers=auth("admin")), 422, "validation-error")

    @pytest.mark.parametrize(
        ("fields", "kind"),
        [
            ({"unit": "atlantis"}, "unknown-unit"),
            ({"unit_id": 999}, "unknown-unit"),
            ({"unit": "ciledug", "unit_id": 6}, "validation-error"),
            ({"name": "x"}, "validation-error"),
            ({"client_id": "cli_mine"}, "validation-error"),
            ({"client_secret": "chosen"}, "validation-error"),
        ],
    )
    def test_bad_bodies_are_422(self, client, auth, fields, kind):
        body = {"name": "Sistem", "scopes": ["incidents:read"], **fields}
        problem(client.post(CLIENTS, json=body, headers=auth("admin")), 422, kind)


class TestReadAndChange:
    def test_list_and_filter(self, client, auth, register):
        first = register(name="Sistem Satu")
        second = register(name="Sistem Dua", unit="ciledug")
        client.patch(
            f"{CLIENTS}/{second['client_id']}", json={"active": False}, headers=auth("admin")
        )
        page = client.get(CLIENTS, headers=auth("admin")).json()
        assert [c["client_id"] for c in page["items"]] == [first["client_id"], second["client_id"]]
        assert page["total"] == 2
        inactive = client.get(CLIENTS, params={"active": "false"}, headers=auth("admin")).json()
        assert [c["client_id"] for c in inactive["items"]] == [second["client_id"]]

    def test_get_one(self, client, auth, register):
        created = register(unit="36.71.06")
        got = client.get(f"{CLIENTS}/{created['client_id']}", headers=auth("admin")).json()
        assert got["unit"]["code"] == "36.71.06"
        assert got["scopes"] == sorted(READ_SCOPES)
        assert {k: v for k, v in created.items() if k != "client_secret"} == got

    def test_patch_changes_only_what_was_sent(self, client, auth, register):
        created = register(description="lama")
        path = f"{CLIENTS}/{created['client_id']}"
        response = client.patch(
            path, json={"name": "Nama baru", "scopes": ["sla:read"]}, headers=auth("admin")
        )
        assert response.status_code == 200, response.text
        changed = response.json()
        assert changed["name"] == "Nama baru"
        assert changed["scopes"] == ["sla:read"]
        assert changed["description"] == "lama"
        assert changed["active"] is True

    @pytest.mark.parametrize(
        "body",
        [
            {"name": None},
            {"active": None},
            {"scopes": None},
            {"scopes": ["users:admin"]},
            {"scopes": []},
            {"unit": "larangan"},
            {"unit_id": 13},
            {"client_secret": "chosen"},
        ],
    )
    def test_bad_patches_are_422(self, client, auth, register, body):
        path = f"{CLIENTS}/{register()['client_id']}"
        problem(client.patch(path, json=body, headers=auth("admin")), 422, "validation-error")

    def test_rotate_secret_answers_a_new_one(self, client, auth, register, engine):
        created = register()
        response = client.post(
            f"{CLIENTS}/{created['client_id']}/rotate-secret", headers=auth("admin")
        )
        assert response.status_code == 200, response.text
        assert response.headers["Cache-Control"] == "no-store"
        rotated = response.json()
        assert rotated["client_id"] == created["client_id"]
        assert rotated["client_secret"] != created["client_secret"]
        with Session(engine) as session:
            row = session.exec(select(ServiceClient)).one()
            assert row.secret_hash == hash_opaque_token(rotated["client_secret"])
            assert row.token_version == 1
        got = client.get(f"{CLIENTS}/{created['client_id']}", headers=auth("admin")).json()
        assert got["secret_rotated_at"] == rotated["secret_rotated_at"]
