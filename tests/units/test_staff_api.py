"""GET /units/{unit}/staff: the people a kecamatan's officers assign work to (units:read)."""

from __future__ import annotations

import pytest

from tests.security.conftest import register_client  # noqa: F401
from tests.units.test_units_api import kind

STAFF = "/api/v1/units/{}/staff"
CILEDUG_UNIT_ROLES = ["camat", "sekcam", "kasi_trantib", "danru", "anggota", "anggota", "anggota"]


class TestRefusals:
    def test_anonymous_is_401(self, client):
        response = client.get(STAFF.format("ciledug"))
        assert response.status_code == 401
        assert kind(response) == "unauthorized"

    @pytest.mark.parametrize("username", ["kasi.ciledug", "camat.ciledug", "anggota1.ciledug"])
    def test_another_kecamatan_is_403_forbidden_unit(self, client, auth, username):
        response = client.get(STAFF.format("cipondoh"), headers=auth(username))
        assert response.status_code == 403
        assert kind(response) == "forbidden-unit"
        assert "danru.cipondoh" not in response.text

    def test_unknown_kecamatan_is_404(self, client, auth):
        response = client.get(STAFF.format("36.71.99"), headers=auth("kasi.ciledug"))
        assert response.status_code == 404
        assert kind(response) == "not-found"

    @pytest.mark.parametrize("role", ["kepala", "admin", "pimpinan", "service"])
    def test_a_role_filter_that_is_no_kecamatan_role_is_422(self, client, auth, role):
        response = client.get(
            STAFF.format("ciledug"), params={"role": role}, headers=auth("kasi.ciledug")
        )
        assert response.status_code == 422
        assert kind(response) == "validation-error"

    def test_a_service_client_is_403(self, client, register_client):  # noqa: F811
        response = client.get(STAFF.format("ciledug"), headers=register_client(None))
        assert response.status_code == 403
        assert kind(response) == "staff-for-people-only"


class TestTheList:
    def test_kasi_sees_the_danru_and_members_of_ciledug_with_their_ids(self, client, auth, user_id):
        response = client.get(STAFF.format("ciledug"), headers=auth("kasi.ciledug"))
        assert response.status_code == 200
        staff = response.json()
        assert [p["role"] for p in staff] == CILEDUG_UNIT_ROLES
        by_name = {p["username"]: p for p in staff}
        for username in ("danru.ciledug", "anggota1.ciledug", "anggota2.ciledug"):
            assert by_name[username]["id"] == user_id(username)
            assert by_name[username]["assignable"] is True
        assert by_name["danru.ciledug"]["full_name"] == "Danru Ciledug (demo)"
        assert all(
            set(p) == {"id", "username", "full_name", "role", "nip", "assignable"} for p in staff
        )
        assert "email" not in response.text and "phone" not in response.text
        assert all(u.endswith(".ciledug") for u in by_name)

    def test_the_role_filter_and_the_code_pick_the_same_people(self, client, auth):
        by_slug = client.get(
            STAFF.format("ciledug"), params={"role": "anggota"}, headers=auth("danru.ciledug")
        )
        by_code = client.get(
            STAFF.format("36.71.06"), params={"role": "anggota"}, headers=auth("danru.ciledug")
        )
        assert by_slug.status_code == by_code.status_code == 200
        assert [p["username"] for p in by_slug.json()] == [
            "anggota1.ciledug",
            "anggota2.ciledug",
            "anggota3.ciledug",
        ]
        assert by_code.json() == by_slug.json()

    def test_a_deactivated_member_is_listed_as_not_assignable(self, client, auth, user_id):
        anggota = user_id("anggota2.ciledug")
        deactivated = client.patch(
            f"/api/v1/users/{anggota}", json={"active": False}, headers=auth("admin")
        )
        assert deactivated.status_code == 200
        staff = client.get(STAFF.format("ciledug"), headers=auth("kasi.ciledug")).json()
        assignable = {p["username"]: p["assignable"] for p in staff}
        assert assignable["anggota2.ciledug"] is False
        assert assignable["anggota1.ciledug"] is True

    @pytest.mark.parametrize("username", ["pimpinan", "admin"])
    def test_city_wide_users_see_any_kecamatan(self, client, auth, username):
        for slug in ("ciledug", "cipondoh", "larangan"):
            response = client.get(STAFF.format(slug), headers=auth(username))
            assert response.status_code == 200
            assert {p["username"].split(".")[1] for p in response.json()} == {slug}
            assert [p["role"] for p in response.json()] == CILEDUG_UNIT_ROLES
