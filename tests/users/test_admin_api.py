"""The users admin API (scope users:admin): create, list, get, change, reset password."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import Session

from app.auth.roles import Role, scopes_for
from app.core.config import get_settings
from app.users.models import User

PROBLEMS = "https://trantib.tangerangkota.go.id/problems/"
USERS = "/api/v1/users"
DEMO_USERS = 2 + 13 * 7
NEW_PASSWORD = "a-long-enough-password"


def kind(response) -> str:  # type: ignore[no-untyped-def]
    assert response.headers["content-type"] == "application/problem+json", response.text
    return response.json()["type"].removeprefix(PROBLEMS)


def new_user(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "username": "anggota9.ciledug",
        "full_name": "Anggota Sembilan",
        "role": "anggota",
        "unit": "36.71.06",
        "password": NEW_PASSWORD,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def log_in(client, username: str, password: str):  # type: ignore[no-untyped-def]
    form = {"grant_type": "password", "username": username, "password": password}
    return client.post("/api/v1/auth/token", data=form)


@pytest.fixture
def admin(auth) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return auth("admin")


def assert_no_secrets(body: object) -> None:
    assert "password" not in str(body)


class TestAccess:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", USERS),
            ("POST", USERS),
            ("GET", f"{USERS}/{uuid.uuid4()}"),
            ("PATCH", f"{USERS}/{uuid.uuid4()}"),
            ("POST", f"{USERS}/{uuid.uuid4()}/password"),
        ],
    )
    def test_anonymous_is_401(self, client, method, path):
        response = client.request(method, path, json={})
        assert response.status_code == 401
        assert kind(response) == "unauthorized"

    @pytest.mark.parametrize("username", ["camat.ciledug", "kasi.ciledug", "pimpinan"])
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", USERS),
            ("POST", USERS),
            ("GET", f"{USERS}/{uuid.uuid4()}"),
            ("PATCH", f"{USERS}/{uuid.uuid4()}"),
            ("POST", f"{USERS}/{uuid.uuid4()}/password"),
        ],
    )
    def test_non_admin_is_403(self, client, auth, username, method, path):
        response = client.request(method, path, json=new_user(), headers=auth(username))
        assert response.status_code == 403
        assert kind(response) == "insufficient-scope"


class TestMe:
    def test_city_role_has_no_unit(self, client, auth):
        response = client.get(f"{USERS}/me", headers=auth("pimpinan"))
        assert response.status_code == 200
        body = response.json()
        assert body["role"] == "pimpinan"
        assert body["unit"] is None
        assert body["scopes"] == scopes_for(Role.pimpinan)
        assert_no_secrets(body)

    def test_anonymous_is_401(self, client):
        response = client.get(f"{USERS}/me")
        assert response.status_code == 401
        assert kind(response) == "unauthorized"


class TestCreate:
    def test_creates_a_kecamatan_user_who_can_log_in(self, client, admin):
        response = client.post(USERS, json=new_user(nip="198001012006041001"), headers=admin)
        assert response.status_code == 201
        body = response.json()
        assert response.headers["location"] == f"/api/v1/users/{body['id']}"
        assert body["username"] == "anggota9.ciledug"
        assert body["role"] == "anggota"
        assert body["nip"] == "198001012006041001"
        assert body["unit"] == {"id": 6, "code": "36.71.06", "name": "Ciledug", "slug": "ciledug"}
        assert body["active"] is True and body["is_demo"] is False
        assert_no_secrets(body)
        assert log_in(client, "anggota9.ciledug", NEW_PASSWORD).status_code == 200

    @pytest.mark.parametrize("unit", [{"unit_id": 6}, {"unit": "ciledug"}, {"unit": "CILEDUG"}])
    def test_unit_by_id_or_slug(self, client, admin, unit):
        response = client.post(USERS, json=new_user(**{"unit": None, **unit}), headers=admin)
        assert response.status_code == 201
        assert response.json()["unit"]["code"] == "36.71.06"

    @pytest.mark.parametrize("role", ["pimpinan", "admin"])
    def test_city_roles_take_no_unit(self, client, admin, role):
        body = new_user(username=f"new.{role}", role=role, unit=None)
        response = client.post(USERS, json=body, headers=admin)
        assert response.status_code == 201
        assert response.json()["unit"] is None

    def test_username_is_stored_lowercase(self, client, admin):
        response = client.post(USERS, json=new_user(username=" Anggota9.Ciledug "), headers=admin)
        assert response.status_code == 201
        assert response.json()["username"] == "anggota9.ciledug"

    def test_several_danru_per_unit_are_fine(self, client, admin):
        response = client.post(
            USERS, json=new_user(username="danru2.ciledug", role="danru"), headers=admin
        )
        assert response.status_code == 201
        created = response.json()
        assert (created["role"], created["unit"]["slug"], created["active"]) == (
            "danru",
            "ciledug",
            True,
        )
        danru = client.get(USERS, params={"role": "danru", "unit": "ciledug"}, headers=admin)
        assert sorted(u["username"] for u in danru.json()["items"]) == [
            "danru.ciledug",
            "danru2.ciledug",
        ]

    def test_duplicate_username_is_409(self, client, admin):
        response = client.post(USERS, json=new_user(username="camat.ciledug"), headers=admin)
        assert response.status_code == 409
        assert kind(response) == "username-taken"

    @pytest.mark.parametrize("role", ["camat", "sekcam", "kasi_trantib"])
    def test_second_single_holder_is_409(self, client, admin, role):
        response = client.post(
            USERS, json=new_user(username=f"second.{role}", role=role), headers=admin
        )
        assert response.status_code == 409
        assert kind(response) == "role-holder-exists"

    def test_new_camat_after_the_old_one_is_deactivated(self, client, admin, user_id):
        old = user_id("camat.ciledug")
        assert (
            client.patch(f"{USERS}/{old}", json={"active": False}, headers=admin).status_code == 200
        )
        response = client.post(
            USERS, json=new_user(username="camat2.ciledug", role="camat"), headers=admin
        )
        assert response.status_code == 201
        created = response.json()
        assert (created["role"], created["unit"]["slug"], created["active"]) == (
            "camat",
            "ciledug",
            True,
        )

    @pytest.mark.parametrize("role", ["camat", "sekcam", "kasi_trantib", "danru", "anggota"])
    def test_kecamatan_role_without_unit_is_422(self, client, admin, role):
        response = client.post(
            USERS, json=new_user(username="x.nounit", role=role, unit=None), headers=admin
        )
        assert response.status_code == 422
        assert kind(response) == "unit-role-mismatch"

    @pytest.mark.parametrize("unit", [{"unit_id": 6}, {"unit": "ciledug"}])
    @pytest.mark.parametrize("role", ["pimpinan", "admin"])
    def test_city_role_with_unit_is_422(self, client, admin, role, unit):
        body = new_user(**{"username": "x.city", "role": role, "unit": None, **unit})
        response = client.post(USERS, json=body, headers=admin)
        assert response.status_code == 422
        assert kind(response) == "unit-role-mismatch"

    def test_unit_id_and_unit_disagreeing_is_422(self, client, admin):
        response = client.post(USERS, json=new_user(unit_id=1), headers=admin)
        assert response.status_code == 422
        assert kind(response) == "unit-role-mismatch"

    @pytest.mark.parametrize("unit", [{"unit_id": 99}, {"unit": "36.71.99"}, {"unit": "jakarta"}])
    def test_unknown_unit_is_422(self, client, admin, unit):
        response = client.post(USERS, json=new_user(**{"unit": None, **unit}), headers=admin)
        assert response.status_code == 422
        assert kind(response) == "unknown-unit"

    @pytest.mark.parametrize(
        "changes",
        [
            {"nip": "12345678901234567"},
            {"nip": "1980010120060410012"},
            {"nip": "19800101200604100a"},
            {"password": "short"},
            {"password": "x" * 129},
            {"password": "line\nbreak-password"},
            {"username": "a b"},
            {"username": "ab"},
            {"username": "-leading"},
            {"username": "x" * 65},
            {"full_name": "   "},
            {"role": "superuser"},
            {"active": False},
            {"password_hash": "$argon2id$..."},
            {"token_version": 5},
        ],
        ids=lambda c: next(iter(c)),
    )
    def test_invalid_body_is_422(self, client, admin, changes):
        response = client.post(USERS, json=new_user(**changes), headers=admin)
        assert response.status_code == 422
        assert kind(response) == "validation-error"

    def test_missing_fields_are_422(self, client, admin):
        response = client.post(USERS, json={"username": "lonely"}, headers=admin)
        assert response.status_code == 422
        assert kind(response) == "validation-error"


class TestList:
    def test_first_page_is_ordered_by_username(self, client, admin):
        response = client.get(USERS, headers=admin)
        assert response.status_code == 200
        page = response.json()
        assert page["total"] == DEMO_USERS
        assert page["limit"] == 50 and page["offset"] == 0
        names = [u["username"] for u in page["items"]]
        assert len(names) == 50
        assert names == sorted(names)
        assert_no_secrets(page)

    def test_pages_do_not_overlap_and_cover_everything(self, client, admin):
        seen: list[str] = []
        for offset in range(0, DEMO_USERS, 40):
            page = client.get(USERS, params={"limit": 40, "offset": offset}, headers=admin).json()
            seen.extend(u["username"] for u in page["items"])
        assert len(seen) == len(set(seen)) == DEMO_USERS

    def test_limit_is_capped_by_the_configured_maximum(self, client, admin):
        response = client.get(USERS, params={"limit": 1000}, headers=admin)
        assert response.status_code == 200
        assert response.json()["limit"] == get_settings().page_size_max

    @pytest.mark.parametrize("params", [{"limit": 0}, {"offset": -1}, {"role": "king"}])
    def test_bad_parameters_are_422(self, client, admin, params):
        response = client.get(USERS, params=params, headers=admin)
        assert response.status_code == 422
        assert kind(response) == "validation-error"

    @pytest.mark.parametrize(
        ("params", "total"),
        [
            ({"role": "camat"}, 13),
            ({"role": "admin"}, 1),
            ({"unit": "ciledug"}, 7),
            ({"unit": "36.71.06"}, 7),
            ({"unit": "6"}, 7),
            ({"unit": "nowhere"}, 0),
            ({"unit": "ciledug", "role": "anggota"}, 3),
            ({"active": "true"}, DEMO_USERS),
            ({"active": "false"}, 0),
            ({"q": "CILEDUG"}, 7),
            ({"q": "kasi trantib karang"}, 1),
            ({"q": "%"}, 0),
            ({"q": "_"}, 0),
        ],
    )
    def test_filters(self, client, admin, params, total):
        response = client.get(USERS, params={**params, "limit": 100}, headers=admin)
        assert response.status_code == 200
        assert response.json()["total"] == total
        assert len(response.json()["items"]) == total

    def test_inactive_filter_finds_deactivated(self, client, admin, user_id):
        client.patch(f"{USERS}/{user_id('danru.benda')}", json={"active": False}, headers=admin)
        page = client.get(USERS, params={"active": "false"}, headers=admin).json()
        assert [u["username"] for u in page["items"]] == ["danru.benda"]


class TestGet:
    def test_one_user(self, client, admin, user_id):
        response = client.get(f"{USERS}/{user_id('kasi.karawaci')}", headers=admin)
        assert response.status_code == 200
        assert response.json()["username"] == "kasi.karawaci"
        assert response.json()["unit"]["slug"] == "karawaci"
        assert_no_secrets(response.json())

    def test_unknown_id_is_404(self, client, admin):
        response = client.get(f"{USERS}/{uuid.uuid4()}", headers=admin)
        assert response.status_code == 404
        assert kind(response) == "not-found"

    def test_malformed_id_is_422(self, client, admin):
        response = client.get(f"{USERS}/not-a-uuid", headers=admin)
        assert response.status_code == 422
        assert kind(response) == "validation-error"


class TestUpdate:
    def test_name_and_nip_change_keeps_tokens(self, client, admin, auth, user_id):
        headers = auth("danru.pinang")
        response = client.patch(
            f"{USERS}/{user_id('danru.pinang')}",
            json={"full_name": "Budi Santoso", "nip": "197512312000031002"},
            headers=admin,
        )
        assert response.status_code == 200
        assert response.json()["full_name"] == "Budi Santoso"
        assert response.json()["nip"] == "197512312000031002"
        assert_no_secrets(response.json())
        assert client.get(f"{USERS}/me", headers=headers).status_code == 200

        cleared = client.patch(
            f"{USERS}/{user_id('danru.pinang')}", json={"nip": None}, headers=admin
        )
        assert cleared.json()["nip"] is None

    def test_move_to_another_unit(self, client, admin, user_id):
        response = client.patch(
            f"{USERS}/{user_id('anggota1.pinang')}", json={"unit_id": 13}, headers=admin
        )
        assert response.status_code == 200
        assert response.json()["unit"]["slug"] == "larangan"

    def test_promote_to_city_role_needs_the_unit_cleared(self, client, admin, user_id):
        path = f"{USERS}/{user_id('anggota2.pinang')}"
        refused = client.patch(path, json={"role": "pimpinan"}, headers=admin)
        assert refused.status_code == 422
        assert kind(refused) == "unit-role-mismatch"
        done = client.patch(path, json={"role": "pimpinan", "unit_id": None}, headers=admin)
        assert done.status_code == 200
        assert done.json()["role"] == "pimpinan" and done.json()["unit"] is None

    def test_clearing_the_unit_of_a_kecamatan_role_is_422(self, client, admin, user_id):
        response = client.patch(
            f"{USERS}/{user_id('anggota3.pinang')}", json={"unit_id": None}, headers=admin
        )
        assert response.status_code == 422
        assert kind(response) == "unit-role-mismatch"

    def test_unknown_unit_is_422(self, client, admin, user_id):
        response = client.patch(
            f"{USERS}/{user_id('anggota3.pinang')}", json={"unit_id": 77}, headers=admin
        )
        assert response.status_code == 422
        assert kind(response) == "unknown-unit"

    def test_role_change_onto_a_filled_single_holder_role_is_409(self, client, admin, user_id):
        response = client.patch(
            f"{USERS}/{user_id('danru.pinang')}", json={"role": "camat"}, headers=admin
        )
        assert response.status_code == 409
        assert kind(response) == "role-holder-exists"

    def test_moving_a_kasi_into_a_unit_with_a_kasi_is_409(self, client, admin, user_id):
        response = client.patch(
            f"{USERS}/{user_id('kasi.pinang')}", json={"unit_id": 6}, headers=admin
        )
        assert response.status_code == 409
        assert kind(response) == "role-holder-exists"

    def test_reactivating_a_replaced_camat_is_409(self, client, admin, user_id):
        old = f"{USERS}/{user_id('camat.pinang')}"
        assert client.patch(old, json={"active": False}, headers=admin).status_code == 200
        created = client.post(
            USERS,
            json=new_user(username="camat2.pinang", role="camat", unit="pinang"),
            headers=admin,
        )
        assert created.status_code == 201
        response = client.patch(old, json={"active": True}, headers=admin)
        assert response.status_code == 409
        assert kind(response) == "role-holder-exists"

    def test_demoting_the_camat_frees_the_seat(self, client, admin, user_id):
        demoted = client.patch(
            f"{USERS}/{user_id('camat.pinang')}", json={"role": "anggota"}, headers=admin
        )
        assert demoted.status_code == 200
        promoted = client.patch(
            f"{USERS}/{user_id('danru.pinang')}", json={"role": "camat"}, headers=admin
        )
        assert promoted.status_code == 200
        assert (demoted.json()["role"], promoted.json()["role"]) == ("anggota", "camat")
        camats = client.get(USERS, params={"role": "camat", "unit": "pinang"}, headers=admin)
        assert [u["username"] for u in camats.json()["items"]] == ["danru.pinang"]

    @pytest.mark.parametrize(
        "body",
        [
            {"username": "renamed"},
            {"password": NEW_PASSWORD},
            {"password_hash": "x"},
            {"token_version": 0},
            {"is_demo": False},
            {"role": None},
            {"active": None},
            {"full_name": None},
            {"nip": "123"},
            {"role": "emperor"},
        ],
        ids=lambda b: f"{next(iter(b))}={next(iter(b.values()))}",
    )
    def test_refused_fields_are_422(self, client, admin, user_id, body):
        response = client.patch(f"{USERS}/{user_id('danru.pinang')}", json=body, headers=admin)
        assert response.status_code == 422
        assert kind(response) == "validation-error"

    @pytest.mark.parametrize("body", [{"active": False}, {"role": "pimpinan"}])
    def test_admin_cannot_lock_themselves_out(self, client, admin, user_id, body):
        response = client.patch(f"{USERS}/{user_id('admin')}", json=body, headers=admin)
        assert response.status_code == 409
        assert kind(response) == "self-lockout"

    def test_unknown_id_is_404(self, client, admin):
        response = client.patch(f"{USERS}/{uuid.uuid4()}", json={"active": False}, headers=admin)
        assert response.status_code == 404
        assert kind(response) == "not-found"

    def test_deactivated_user_cannot_log_in(self, client, admin, user_id):
        client.patch(f"{USERS}/{user_id('danru.pinang')}", json={"active": False}, headers=admin)
        password = get_settings().demo_password
        response = log_in(client, "danru.pinang", password)
        assert response.status_code == 401
        assert kind(response) == "invalid-credentials"


class TestResetPassword:
    def test_new_password_works_and_the_old_one_does_not(self, client, admin, user_id, engine):
        path = f"{USERS}/{user_id('sekcam.benda')}/password"
        response = client.post(path, json={"password": NEW_PASSWORD}, headers=admin)
        assert response.status_code == 204
        assert response.content == b""
        assert log_in(client, "sekcam.benda", NEW_PASSWORD).status_code == 200
        assert log_in(client, "sekcam.benda", get_settings().demo_password).status_code == 401
        with Session(engine) as session:
            user = session.get(User, uuid.UUID(user_id("sekcam.benda")))
            assert user is not None and user.token_version == 1
            assert NEW_PASSWORD not in user.password_hash

    @pytest.mark.parametrize(
        "body", [{"password": "short"}, {}, {"password": NEW_PASSWORD, "user": "x"}]
    )
    def test_invalid_body_is_422(self, client, admin, user_id, body):
        path = f"{USERS}/{user_id('sekcam.benda')}/password"
        response = client.post(path, json=body, headers=admin)
        assert response.status_code == 422
        assert kind(response) == "validation-error"

    def test_unknown_id_is_404(self, client, admin):
        response = client.post(
            f"{USERS}/{uuid.uuid4()}/password", json={"password": NEW_PASSWORD}, headers=admin
        )
        assert response.status_code == 404
        assert kind(response) == "not-found"
