"""Swagger UI and ReDoc work without the internet: every asset they load is served here."""

from __future__ import annotations

import json
import re

import pytest

from app.auth.deps import STAFF_SCHEME

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
URL_IN_SCRIPT = re.compile(r"""["'](?:https?:)?//[^"']+["']""")


def local_assets(html: str) -> list[str]:
    return ASSET.findall(html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_pages_load_only_local_assets(client, page):
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    # The browser itself refuses anything from another host, whatever a script asks for.
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "img-src 'self' data:" in policy
    html = response.text
    assert not URL_IN_SCRIPT.findall(html), "the page refers to another host"
    assets = local_assets(html)
    assert assets, "no assets found in the page"
    for asset in assets:
        assert asset.startswith("/"), asset
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 1000, asset


def test_swagger_ui_is_version_5(client):
    html = client.get("/docs").text
    script = next(a for a in local_assets(html) if a.endswith("swagger-ui-bundle.js"))
    bundle = client.get(script).text
    # Swagger UI 4 cannot render OpenAPI 3.1 documents.
    version = re.search(r'PACKAGE_VERSION:"(\d+)\.', bundle)
    assert version is not None and int(version.group(1)) >= 5


def test_redoc_is_version_2(client):
    html = client.get("/redoc").text
    script = next(a for a in local_assets(html) if a.endswith("redoc.standalone.js"))
    assert re.search(r'"2\.\d+\.\d+"', client.get(script).text)


def test_swagger_ui_is_set_up_for_the_password_flow(client, app):
    html = client.get("/docs").text
    assert "ui.initOAuth(" in html
    assert '"persistAuthorization": true' in html
    assert "oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect'" in html
    assert client.get("/docs/oauth2-redirect").status_code == 200
    spec_url = re.search(r"url: '([^']+)'", html)
    assert spec_url is not None
    served = client.get(spec_url.group(1))
    assert served.status_code == 200
    flows = served.json()["components"]["securitySchemes"][STAFF_SCHEME]["flows"]
    assert flows["password"]["tokenUrl"] == "/api/v1/auth/token"
    # Swagger UI cannot be told to leave the client fields out of the password flow.
    assert "client_id_password" in html and "display: none" in html


def test_openapi_served_equals_the_app_document(client, app):
    assert client.get("/openapi.json").json() == json.loads(json.dumps(app.openapi()))


def test_docs_routes_stay_out_of_the_document(app):
    paths = app.openapi()["paths"]
    assert not [p for p in paths if p.startswith(("/docs", "/redoc"))]


def _description(app) -> str:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    # No lifespan: production refuses to start beside the harness's demo users, and the
    # document does not depend on the start-up checks.
    response = TestClient(app).get("/openapi.json")
    assert response.status_code == 200
    return str(response.json()["info"]["description"])


def _app_with(**settings: object):  # type: ignore[no-untyped-def]
    from app.core.config import get_settings
    from app.main import create_app

    return create_app(get_settings().model_copy(update=settings))


class TestLandingDescription:
    def test_no_line_reads_as_a_numbered_list_item(self, client):
        description = client.get("/openapi.json").json()["info"]["description"]
        starts = [line for line in description.splitlines() if re.match(r"\s*\d+\.(\s|$)", line)]
        assert starts == []

    def test_the_summary_is_not_said_again(self, client):
        info = client.get("/openapi.json").json()["info"]
        assert "Penanganan Unjuk Rasa" in info["summary"]
        assert "Penanganan Unjuk Rasa" not in info["description"]
        assert "Kota Tangerang" not in info["description"]

    def test_development_names_the_demo_users_and_their_password(self, app):
        description = _description(app)
        assert "**Demo users** (development)" in description
        assert "`kasi.<kecamatan>`" in description and "`pimpinan`" in description
        assert "`trantib-demo`" in description

    @pytest.mark.parametrize(
        "settings",
        [
            {"environment": "production", "seed_demo": False},
            {"environment": "development", "seed_demo": False},
        ],
        ids=["production", "development-without-demo-users"],
    )
    def test_without_demo_users_no_account_or_password_is_named(self, settings):
        from app.core.config import Environment

        app = _app_with(**{**settings, "environment": Environment(settings["environment"])})
        description = _description(app)
        assert "Demo users" not in description
        assert "trantib-demo" not in description
        assert "kasi." not in description
