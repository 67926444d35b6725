"""POST/GET /api/v1/delegations and revoke: who may record which kind, the deputy, the
period, overlaps, visibility, and the kecamatan's hash-chained delegation trail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.delegations.conftest import LETTER

PROBLEM = "https://trantib.tangerangkota.go.id/problems/"


def problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == PROBLEM + kind, body
    return body


class TestWhoMayRecord:
    """An administrator records either kind; a post's holder names their own Plh."""

    @pytest.mark.parametrize(
        ("by", "position", "kind", "status", "kind_of_problem"),
        [
            ("admin", "camat", "plh", 201, None),
            ("admin", "camat", "plt", 201, None),
            ("camat.ciledug", "camat", "plh", 201, None),
            ("sekcam.ciledug", "sekcam", "plh", 201, None),
            ("kasi.ciledug", "kasi_trantib", "plh", 201, None),
            ("camat.ciledug", "camat", "plt", 403, "delegation-not-yours"),
            ("sekcam.ciledug", "camat", "plh", 403, "delegation-not-yours"),
            ("kasi.ciledug", "camat", "plh", 403, "delegation-not-yours"),
            ("camat.cibodas", "camat", "plh", 403, "delegation-not-yours"),
            ("danru.ciledug", "camat", "plh", 403, "insufficient-scope"),
            ("anggota1.ciledug", "camat", "plh", 403, "insufficient-scope"),
            ("pimpinan", "camat", "plh", 403, "insufficient-scope"),
        ],
    )
    def test_every_role(
        self,
        delegate: Callable[..., Any],
        danru2: str,
        by: str,
        position: str,
        kind: str,
        status: int,
        kind_of_problem: str | None,
    ) -> None:
        response = delegate(danru2, position=position, kind=kind, by=by)
        if kind_of_problem is None:
            assert response.status_code == status, response.text
            body = response.json()
            assert body["position"] == position and body["kind"] == kind
            assert body["delegate"]["id"] == danru2
            assert response.headers["Location"] == f"/api/v1/delegations/{body['id']}"
        else:
            problem(response, status, kind_of_problem)

    def test_self_plh_off_leaves_it_to_the_administrator(
        self, delegate: Callable[..., Any], danru2: str, self_plh: Callable[[bool], None]
    ) -> None:
        self_plh(False)
        problem(delegate(danru2, by="camat.ciledug"), 403, "delegation-not-yours")
        assert delegate(danru2, by="admin").status_code == 201

    def test_anonymous(self, client: TestClient, danru2: str) -> None:
        response = client.post("/api/v1/delegations", json={})
        problem(response, 401, "unauthorized")

    def test_a_service_client_records_none(
        self, client: TestClient, danru2: str, auth: Callable[[str], dict[str, str]]
    ) -> None:
        created = client.post(
            "/api/v1/clients",
            json={"name": "Dashboard", "scopes": ["incidents:read", "units:read"]},
            headers=auth("admin"),
        )
        assert created.status_code == 201, created.text
        secret = created.json()
        token = client.post(
            "/api/v1/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": secret["client_id"],
                "client_secret": secret["client_secret"],
            },
        )
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        problem(
            client.get("/api/v1/delegations", headers=headers), 403, "delegations-for-people-only"
        )


class TestTheDeputy:
    def test_must_be_an_active_officer_of_the_kecamatan_not_an_anggota_nor_the_holder(
        self,
        delegate: Callable[..., Any],
        user_id: Callable[[str], str],
        make_user: Callable[..., str],
        client: TestClient,
        auth: Callable[[str], dict[str, str]],
    ) -> None:
        for username in ("anggota1.ciledug", "camat.ciledug", "danru.cibodas", "pimpinan"):
            body = problem(delegate(user_id(username)), 422, "delegate-not-eligible")
            assert body["field"] == "delegate_id"
        retired = make_user("danru9.ciledug", "danru")
        patched = client.patch(
            f"/api/v1/users/{retired}", json={"active": False}, headers=auth("admin")
        )
        assert patched.status_code == 200, patched.text
        problem(delegate(retired), 422, "delegate-not-eligible")
        problem(delegate("00000000-0000-0000-0000-000000000000"), 422, "delegate-not-eligible")

    def test_the_sekcam_may_stand_in_for_the_camat(
        self, delegate: Callable[..., Any], user_id: Callable[[str], str]
    ) -> None:
        assert delegate(user_id("sekcam.ciledug")).status_code == 201


class TestThePeriod:
    def test_a_plh_needs_an_end_a_plt_may_stay_open(
        self, delegate: Callable[..., Any], danru2: str
    ) -> None:
        response = delegate(danru2, ends_at=None)
        problem(response, 422, "validation-error")
        created = delegate(danru2, kind="plt", ends_at=None)
        assert created.status_code == 201, created.text
        assert created.json()["ends_at"] is None

    def test_no_start_in_the_past_and_no_end_before_the_start(
        self, delegate: Callable[..., Any], danru2: str, now: datetime
    ) -> None:
        body = problem(
            delegate(danru2, starts_at=now - timedelta(minutes=10)),
            422,
            "delegation-period-invalid",
        )
        assert body["field"] == "starts_at"
        body = problem(
            delegate(danru2, starts_at=now + timedelta(hours=2), ends_at=now + timedelta(hours=1)),
            422,
            "delegation-period-invalid",
        )
        assert body["field"] == "ends_at"

    def test_bad_bodies(self, delegate: Callable[..., Any], danru2: str) -> None:
        problem(delegate(danru2, position="danru"), 422, "validation-error")
        problem(delegate(danru2, kind="acting"), 422, "validation-error")
        problem(delegate(danru2, unit="atlantis"), 422, "unknown-unit")
        problem(
            delegate(danru2, basis={"number": "", "date": "2026-12-01"}), 422, "validation-error"
        )
        problem(
            delegate(danru2, basis={"number": "A\x00", "date": "2026-12-01"}),
            422,
            "validation-error",
        )
        problem(delegate(danru2, status="approved"), 422, "validation-error")


class TestOverlaps:
    def test_one_delegation_per_post_at_any_moment(
        self,
        delegate: Callable[..., Any],
        danru2: str,
        user_id: Callable[[str], str],
        now: datetime,
    ) -> None:
        start = now + timedelta(hours=1)
        first = delegate(danru2, starts_at=start, ends_at=start + timedelta(days=2))
        assert first.status_code == 201, first.text
        sekcam = user_id("sekcam.ciledug")
        body = problem(
            delegate(
                sekcam, starts_at=start + timedelta(days=1), ends_at=start + timedelta(days=3)
            ),
            409,
            "delegation-overlap",
        )
        assert body["other"] == first.json()["id"]
        # An open-ended Plt from before meets it too.
        problem(delegate(sekcam, kind="plt", ends_at=None), 409, "delegation-overlap")
        # Back to back is no overlap; another post or kecamatan is none either.
        after = delegate(
            sekcam, starts_at=start + timedelta(days=2), ends_at=start + timedelta(days=4)
        )
        assert after.status_code == 201, after.text
        assert delegate(sekcam, position="kasi_trantib").status_code == 201
        assert delegate(user_id("danru.cibodas"), unit="cibodas").status_code == 201

    def test_a_revoked_delegation_frees_the_rest_of_its_period(
        self,
        client: TestClient,
        auth: Callable[[str], dict[str, str]],
        delegate: Callable[..., Any],
        danru2: str,
        user_id: Callable[[str], str],
        now: datetime,
    ) -> None:
        first = delegate(danru2).json()
        revoked = client.post(
            f"/api/v1/delegations/{first['id']}/revoke",
            json={"reason": "Camat kembali"},
            headers=auth("camat.ciledug"),
        )
        assert revoked.status_code == 200, revoked.text
        assert (
            delegate(user_id("sekcam.ciledug"), starts_at=now + timedelta(minutes=1)).status_code
            == 201
        )


class TestRevoke:
    def test_revoke_ends_it_and_twice_is_409(
        self,
        client: TestClient,
        auth: Callable[[str], dict[str, str]],
        delegate: Callable[..., Any],
        danru2: str,
    ) -> None:
        created = delegate(danru2, by="camat.ciledug").json()
        url = f"/api/v1/delegations/{created['id']}/revoke"
        problem(
            client.post(url, json={"reason": "x"}, headers=auth("sekcam.ciledug")),
            403,
            "delegation-not-yours",
        )
        problem(
            client.post(url, json={"reason": "x"}, headers=auth("danru.ciledug")),
            403,
            "insufficient-scope",
        )
        problem(client.post(url, json={}, headers=auth("admin")), 422, "validation-error")
        done = client.post(url, json={"reason": "Camat kembali lebih awal"}, headers=auth("admin"))
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["revoked_at"] is not None and body["in_force"] is False
        assert body["revoke_reason"] == "Camat kembali lebih awal"
        problem(
            client.post(url, json={"reason": "lagi"}, headers=auth("admin")),
            409,
            "delegation-ended",
        )

    def test_unknown_and_other_kecamatan_are_404(
        self,
        client: TestClient,
        auth: Callable[[str], dict[str, str]],
        delegate: Callable[..., Any],
        danru2: str,
    ) -> None:
        created = delegate(danru2).json()
        for url in (
            f"/api/v1/delegations/{created['id']}",
            "/api/v1/delegations/00000000-0000-0000-0000-000000000000",
        ):
            headers = auth("camat.cibodas") if created["id"] in url else auth("admin")
            problem(client.get(url, headers=headers), 404, "not-found")
        problem(
            client.post(
                f"/api/v1/delegations/{created['id']}/revoke",
                json={"reason": "x"},
                headers=auth("camat.cibodas"),
            ),
            404,
            "not-found",
        )


class TestReading:
    def test_list_filters_and_visibility(
        self,
        client: TestClient,
        auth: Callable[[str], dict[str, str]],
        delegate: Callable[..., Any],
        danru2: str,
        user_id: Callable[[str], str],
        now: datetime,
    ) -> None:
        current = delegate(danru2).json()
        later = delegate(
            user_id("sekcam.ciledug"),
            starts_at=now + timedelta(days=10),
            ends_at=now + timedelta(days=12),
        ).json()
        other = delegate(user_id("danru.cibodas"), unit="cibodas").json()

        def ids(username: str, **params: str) -> list[str]:
            response = client.get("/api/v1/delegations", params=params, headers=auth(username))
            assert response.status_code == 200, response.text
            return [d["id"] for d in response.json()["items"]]

        assert ids("kasi.ciledug") == [later["id"], current["id"]]
        assert set(ids("pimpinan")) == {current["id"], later["id"], other["id"]}
        assert ids("admin", unit="cibodas") == [other["id"]]
        moment = (now + timedelta(seconds=2)).isoformat()
        assert ids("admin", unit="ciledug", active_at=moment) == [current["id"]]
        assert ids("admin", position="sekcam") == []
        problem(
            client.get("/api/v1/delegations", params={"unit": "atlantis"}, headers=auth("admin")),
            422,
            "unknown-unit",
        )
        problem(
            client.get(
                "/api/v1/delegations",
                params={"active_at": "2026-12-01T10:00:00"},
                headers=auth("admin"),
            ),
            422,
            "validation-error",
        )
        one = client.get(f"/api/v1/delegations/{current['id']}", headers=auth("danru2.ciledug"))
        assert one.status_code == 200, one.text
        unit = client.get("/api/v1/units/ciledug", headers=auth("admin")).json()
        assert one.json()["capacity"] == f"Plh. CAMAT {unit['name'].upper()}"
        assert one.json()["basis"] == LETTER
        assert one.json()["in_force"] is True

    def test_the_trail_is_chained_per_kecamatan(
        self,
        client: TestClient,
        auth: Callable[[str], dict[str, str]],
        delegate: Callable[..., Any],
        danru2: str,
        engine: Any,
    ) -> None:
        first = delegate(danru2, by="camat.ciledug").json()
        client.post(
            f"/api/v1/delegations/{first['id']}/revoke",
            json={"reason": "Kembali"},
            headers=auth("camat.ciledug"),
        )
        trail = client.get("/api/v1/units/ciledug/delegation-events", headers=auth("kasi.ciledug"))
        assert trail.status_code == 200, trail.text
        body = trail.json()
        assert [e["action"] for e in body["events"]] == ["delegation_create", "delegation_revoke"]
        assert [e["seq"] for e in body["events"]] == [1, 2]
        assert body["events"][1]["prev_hash"] == body["events"][0]["hash"]
        assert body["chain_valid"] is True
        problem(
            client.get("/api/v1/units/ciledug/delegation-events", headers=auth("kasi.cibodas")),
            403,
            "forbidden-unit",
        )
        # Tampering with a recorded event is caught.
        from sqlalchemy import text

        with engine.begin() as conn:
            conn.execute(text("UPDATE delegation_events SET actor_role = 'admin' WHERE seq = 1"))
        body = client.get("/api/v1/units/ciledug/delegation-events", headers=auth("admin")).json()
        assert body["chain_valid"] is False and body["first_broken_seq"] == 1
