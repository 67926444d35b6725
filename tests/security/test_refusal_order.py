"""The order of refusals when a request is wrong in more than one way.

The caller's lookup and the load-or-404 of the incident are made in the endpoint's one
thread hop (app.core.routing); a request whose body does not validate must still be refused
for who is asking first, then for what it asks about, and only then for its body, as when
each took a hop of its own: a logged-out token or an incident of another kecamatan must not
learn which fields a body lacks, nor an unknown user's id that the body is wrong.
"""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlmodel import Session

from app.core.config import get_settings
from app.users.models import User
from tests.security.conftest import problem

INCIDENTS = "/api/v1/incidents"
# Not an incident body: `title` and the rest are missing.
INVALID = {"title": 5}


def _login(client, username: str, **fields: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    form = {
        "grant_type": "password",
        "username": username,
        "password": get_settings().demo_password,
    }
    answer = client.post("/api/v1/auth/token", data={**form, **fields})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_a_logged_out_token_with_an_invalid_body_is_401(client):
    headers = _login(client, "kasi.ciledug")
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    problem(client.post(INCIDENTS, json=INVALID, headers=headers), 401, "invalid-token")


def test_a_token_of_a_changed_account_with_an_invalid_body_is_401(client, auth, engine):
    headers = auth("kasi.ciledug")
    with Session(engine) as session:
        session.execute(
            update(User)
            .where(User.username == "kasi.ciledug")
            .values(token_version=User.token_version + 1)
        )
        session.commit()
    problem(client.post(INCIDENTS, json=INVALID, headers=headers), 401, "invalid-token")


def test_a_missing_scope_comes_before_an_invalid_body(client, auth):
    # The Danru may not register an incident.
    problem(
        client.post(INCIDENTS, json=INVALID, headers=auth("danru.ciledug")),
        403,
        "insufficient-scope",
    )


def test_an_unknown_object_comes_before_an_invalid_body(client, auth, user_id):
    # The user is loaded (404) before the body is validated (422).
    url = "/api/v1/users/{}"
    invalid = {"role": 5}
    admin = auth("admin")
    problem(client.patch(url.format(uuid.uuid4()), json=invalid, headers=admin), 404, "not-found")
    problem(client.patch(url.format(user_id("danru.ciledug")), json=invalid, headers=admin), 422)


def test_a_route_wide_scope_is_checked(client):
    # The units router requires units:read for all its operations, in `dependencies`, which
    # the endpoint never sees: the one hop checks it all the same.
    headers = _login(client, "admin", scope="users:admin")
    problem(client.get("/api/v1/units", headers=headers), 403, "insufficient-scope")
    allowed = _login(client, "admin", scope="units:read")
    assert client.get("/api/v1/units", headers=allowed).status_code == 200
