"""POST /auth/refresh (rotation, reuse detection) and POST /auth/logout."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from app.auth.models import RefreshToken
from app.core.security import hash_opaque_token

PROBLEMS = "https://trantib.tangerangkota.go.id/problems/"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/users/me"


def kind(response) -> str:  # type: ignore[no-untyped-def]
    assert response.headers["content-type"] == "application/problem+json", response.text
    return response.json()["type"].removeprefix(PROBLEMS)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class TestRefresh:
    def test_rotation_issues_a_new_pair_in_the_same_family(self, client, login, engine):
        first = login("kasi.ciledug").json()
        response = client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
        assert response.status_code == 200
        second = response.json()
        assert second["token_type"] == "bearer"
        assert second["refresh_token"] != first["refresh_token"]
        assert second["access_token"] != first["access_token"]
        assert second["scope"] == first["scope"]
        assert response.headers["cache-control"] == "no-store"
        assert client.get(ME, headers=bearer(second["access_token"])).status_code == 200
        with Session(engine) as session:
            old = session.exec(
                select(RefreshToken).where(
                    RefreshToken.token_hash == hash_opaque_token(first["refresh_token"])
                )
            ).one()
            new = session.exec(
                select(RefreshToken).where(
                    RefreshToken.token_hash == hash_opaque_token(second["refresh_token"])
                )
            ).one()
        assert old.used_at is not None and old.revoked_at is None
        assert new.family_id == old.family_id and new.used_at is None

    def test_tokens_are_stored_only_as_hashes(self, login, engine):
        issued = login("kasi.ciledug").json()["refresh_token"]
        with Session(engine) as session:
            stored = session.exec(select(RefreshToken.token_hash)).all()
        assert issued not in stored
        assert hash_opaque_token(issued) in stored

    def test_reused_token_is_refused_and_kills_the_newer_one(self, client, login):
        first = login("kasi.ciledug").json()["refresh_token"]
        second = client.post(REFRESH, json={"refresh_token": first}).json()["refresh_token"]

        reuse = client.post(REFRESH, json={"refresh_token": first})
        assert reuse.status_code == 401
        assert kind(reuse) == "invalid-refresh-token"

        newer = client.post(REFRESH, json={"refresh_token": second})
        assert newer.status_code == 401
        assert kind(newer) == "invalid-refresh-token"

    def test_reuse_ends_the_access_tokens_of_the_family(self, client, login):
        first = login("kasi.ciledug").json()
        second = client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).json()
        other_login = login("kasi.ciledug").json()
        assert client.get(ME, headers=bearer(second["access_token"])).status_code == 200

        assert (
            client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).status_code == 401
        )

        for access_token in (first["access_token"], second["access_token"]):
            refused = client.get(ME, headers=bearer(access_token))
            assert refused.status_code == 401
            assert kind(refused) == "invalid-token"
        still = client.get(ME, headers=bearer(other_login["access_token"]))
        assert still.status_code == 200
        assert still.json()["username"] == "kasi.ciledug"

    def test_reuse_leaves_other_logins_alone(self, client, login):
        phone = login("kasi.ciledug").json()["refresh_token"]
        laptop = login("kasi.ciledug").json()["refresh_token"]
        client.post(REFRESH, json={"refresh_token": phone})
        client.post(REFRESH, json={"refresh_token": phone})
        response = client.post(REFRESH, json={"refresh_token": laptop})
        assert response.status_code == 200
        assert response.json()["refresh_token"] != laptop

    def test_expired_refresh_token_is_refused(self, client, login, move_clock):
        token = login("kasi.ciledug").json()["refresh_token"]
        move_clock(timedelta(days=7, seconds=1))
        response = client.post(REFRESH, json={"refresh_token": token})
        assert response.status_code == 401
        assert kind(response) == "invalid-refresh-token"

    def test_unknown_refresh_token_is_refused(self, client):
        response = client.post(REFRESH, json={"refresh_token": "made-up-token"})
        assert response.status_code == 401
        assert kind(response) == "invalid-refresh-token"

    def test_narrowed_scope_survives_rotation(self, client, login):
        first = login("camat.ciledug", scope="incidents:read").json()
        second = client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).json()
        assert second["scope"] == "incidents:read"

    def test_deactivated_user_cannot_refresh(self, client, login, auth, user_id):
        token = login("anggota1.larangan").json()["refresh_token"]
        client.patch(
            f"/api/v1/users/{user_id('anggota1.larangan')}",
            json={"active": False},
            headers=auth("admin"),
        )
        response = client.post(REFRESH, json={"refresh_token": token})
        assert response.status_code == 401
        assert kind(response) == "invalid-refresh-token"

    def test_extra_field_is_422(self, client, login):
        token = login("kasi.ciledug").json()["refresh_token"]
        response = client.post(REFRESH, json={"refresh_token": token, "scope": "users:admin"})
        assert response.status_code == 422
        assert kind(response) == "validation-error"

    def test_missing_token_is_422(self, client):
        response = client.post(REFRESH, json={})
        assert response.status_code == 422
        assert kind(response) == "validation-error"


class TestLogout:
    def test_logout_ends_every_token_of_the_account(self, client, login):
        one = login("sekcam.ciledug").json()
        two = login("sekcam.ciledug").json()
        assert client.post(LOGOUT, headers=bearer(one["access_token"])).status_code == 204

        for access in (one["access_token"], two["access_token"]):
            response = client.get(ME, headers=bearer(access))
            assert response.status_code == 401
            assert kind(response) == "invalid-token"
        for refresh in (one["refresh_token"], two["refresh_token"]):
            response = client.post(REFRESH, json={"refresh_token": refresh})
            assert response.status_code == 401
            assert kind(response) == "invalid-refresh-token"

    def test_can_log_in_again_after_logout(self, client, login):
        token = login("sekcam.ciledug").json()["access_token"]
        client.post(LOGOUT, headers=bearer(token))
        again = login("sekcam.ciledug").json()["access_token"]
        assert client.get(ME, headers=bearer(again)).status_code == 200

    def test_logout_needs_a_token(self, client):
        response = client.post(LOGOUT)
        assert response.status_code == 401
        assert kind(response) == "unauthorized"

    def test_logout_twice_with_the_same_token_is_401(self, client, login):
        token = login("sekcam.ciledug").json()["access_token"]
        assert client.post(LOGOUT, headers=bearer(token)).status_code == 204
        response = client.post(LOGOUT, headers=bearer(token))
        assert response.status_code == 401
        assert kind(response) == "invalid-token"
