"""API8:2023 Security Misconfiguration.

- Every answer, success or error, API or documentation, carries X-Content-Type-Options
  nosniff, Referrer-Policy no-referrer and X-Frame-Options DENY; API answers also a
  Content-Security-Policy that loads nothing and Cache-Control no-store.
- No debug pages: unknown paths and methods are problem+json, and an internal error is a
  500 problem without a stack trace, an exception message or a path of the code.
- CORS answers only the configured origins, and none by default.
- Production refuses the development signing key, demo seeding and demo users:
  tests/test_settings.py and tests/test_cli.py.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings, get_settings
from app.main import create_app
from tests.security.conftest import API, JPEG, Archived, operations, problem

ALWAYS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def assert_hardened(response: httpx.Response, api: bool = True) -> None:
    where = f"{response.request.method} {response.request.url.path} {response.status_code}"
    for name, value in ALWAYS.items():
        assert response.headers.get(name) == value, (where, name, dict(response.headers))
    if api:
        # Downloaded photos and PDFs included: the README promises no-store on every answer.
        assert response.headers.get("cache-control") == "no-store", where
        csp = response.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp, where


def test_every_get_answer_is_hardened(archived: Archived, openapi, client, auth) -> None:
    flow = archived.flow
    values = {**archived.ids, "code_or_slug": "ciledug", "unit": "ciledug"}
    checked = 0
    for op in operations(openapi):
        if op.method != "GET" or set(op.params) - set(values):
            continue
        response = client.get(op.url(values), headers=flow.as_("camat"))
        assert response.status_code in (200, 403), (op.operation_id, response.text)
        assert_hardened(response)
        checked += 1
    assert checked >= 30


def test_errors_are_hardened_too(client, auth, settings_env) -> None:
    camat = auth("camat.ciledug")
    answers = [
        client.get(f"{API}/incidents"),  # 401
        client.get(f"{API}/users", headers=camat),  # 403
        client.get(f"{API}/incidents/00000000-0000-0000-0000-000000000000", headers=camat),
        client.get(f"{API}/incidents/not-a-uuid", headers=camat),  # 422
        client.post(
            f"{API}/incidents",
            content=b"{not json",
            headers={**camat, "Content-Type": "application/json"},
        ),  # 400
        client.delete(f"{API}/incidents", headers=camat),  # 405
        client.get("/no/such/path"),  # 404
        client.post(
            f"{API}/incidents",
            content=b"x" * (get_settings().max_body_bytes + 1),
            headers={**camat, "Content-Type": "application/json"},
        ),  # 413
    ]
    assert sorted(r.status_code for r in answers) == [400, 401, 403, 404, 404, 405, 413, 422]
    settings_env(rate_limit_per_minute=1)
    kasi = auth("kasi.ciledug")
    client.get(f"{API}/units", headers=kasi)
    answers.append(client.get(f"{API}/units", headers=kasi))
    assert answers[-1].status_code == 429
    for response in answers:
        assert response.headers["content-type"] == "application/problem+json"
        assert_hardened(response)


def test_documentation_is_hardened_and_keeps_its_own_policy(client) -> None:
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        page = client.get(path)
        assert page.status_code == 200
        assert_hardened(page, api=False)
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    asset = client.get("/docs/assets/swagger-ui.css")
    assert asset.status_code == 200
    assert_hardened(asset, api=False)
    assert_hardened(client.get("/openapi.json"))
    assert_hardened(client.get("/healthz"))


def test_a_downloaded_attachment_is_not_sniffed(flow, client) -> None:
    flow.run_to(9)
    report_id = flow.field_report_ids[0]
    created = client.post(
        f"{API}/field-reports/{report_id}/attachments",
        files={"file": ("x.jpg", JPEG, "text/html")},
        headers=flow.as_("anggota1"),
    )
    assert created.status_code == 201, created.text
    content = client.get(created.headers["location"], headers=flow.as_("camat"))
    assert content.status_code == 200
    assert content.headers["content-type"] == "image/jpeg"
    assert_hardened(content, api=False)
    assert "attachment" in content.headers.get("content-disposition", "")


# -- no debug output ------------------------------------------------------------------------------


@pytest.fixture
def failing_client() -> Any:
    """The real application plus one route that fails the way a bug would."""
    app = create_app()

    @app.get("/api/v1/test-only/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("database password is hunter2 at /srv/app/secret.py line 12")

    with TestClient(app, raise_server_exceptions=False) as client:
        yield app, client


def test_an_internal_error_is_a_bare_500_problem(failing_client, caplog) -> None:
    app, client = failing_client
    assert app.debug is False
    with caplog.at_level("ERROR", logger="app.errors"):
        response = client.get("/api/v1/test-only/boom")
    found = problem(response, 500, "internal-error")
    assert set(found) == {"type", "title", "status", "detail", "instance"}
    for leak in ("hunter2", "RuntimeError", "Traceback", "secret.py", 'File "', "/srv/"):
        assert leak not in response.text
    assert_hardened(response)
    # The operator still gets the details, in the log.
    assert any("hunter2" in str(record.exc_info) for record in caplog.records)


def test_there_is_no_debug_or_stray_route(client) -> None:
    for path in ("/debug", "/admin", "/.env", "/api/v1/../../etc/passwd", "/server-status"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
        assert "<html" not in response.text.lower()


# -- CORS -----------------------------------------------------------------------------------------


def preflight(client: TestClient, origin: str) -> httpx.Response:
    return client.options(
        f"{API}/incidents",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )


def test_no_cors_without_configured_origins(client, auth) -> None:
    assert get_settings().cors_origins == []
    evil = "https://evil.example"
    response = client.get(f"{API}/incidents", headers={**auth("camat.ciledug"), "Origin": evil})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    answer = preflight(client, evil)
    assert "access-control-allow-origin" not in answer.headers
    assert answer.status_code in (400, 405)


def test_cors_answers_only_the_configured_origins(auth) -> None:
    good = "https://sitrantib.tangerangkota.go.id"
    settings = Settings(**{**get_settings().model_dump(), "cors_origins": [good]})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        allowed = preflight(client, good)
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == good
        assert "Authorization" in allowed.headers["access-control-allow-headers"]
        refused = preflight(client, "https://evil.example")
        assert refused.headers.get("access-control-allow-origin") != "https://evil.example"
        assert "access-control-allow-origin" not in refused.headers
        headers = {**auth("camat.ciledug"), "Origin": "https://evil.example"}
        simple = client.get(f"{API}/incidents", headers=headers)
        assert "access-control-allow-origin" not in simple.headers
        mine = client.get(f"{API}/incidents", headers={**headers, "Origin": good})
        assert mine.headers["access-control-allow-origin"] == good
        assert mine.headers.get("access-control-allow-credentials") != "true"
        null = preflight(client, "null")
        assert "access-control-allow-origin" not in null.headers


def test_cors_lets_the_web_app_resume_its_live_stream() -> None:
    """The SPA's stream client (examples/live-stream) sends Last-Event-ID when it reconnects."""
    good = "https://sitrantib.tangerangkota.go.id"
    settings = Settings(**{**get_settings().model_dump(), "cors_origins": [good]})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        allowed = client.options(
            f"{API}/stream",
            headers={
                "Origin": good,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization, last-event-id",
            },
        )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == good
    assert "last-event-id" in allowed.headers["access-control-allow-headers"].lower()
