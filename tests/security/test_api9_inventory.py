"""API9:2023 Improper Inventory Management.

What the service serves is what its contract says: every route is an operation of the
OpenAPI document (only the documentation pages and their assets are left out, by name), and
every operation is served. Anything else answers 404 (an unknown path, another API
version) or 405 (a method the path does not have), as problem+json. That the committed
openapi/openapi.json equals the served document is checked by tests/contract.
"""

from __future__ import annotations

from typing import Any

import fastapi.routing

from tests.security.conftest import METHODS, problem

# Served but deliberately not operations of the API.
UNDOCUMENTED = {
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("MOUNT", "/docs/assets"),
}


def served_routes(app: Any) -> set[tuple[str, str]]:
    """(method, full path) of every route, through included routers."""
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    routes = list(contexts(app.routes)) if contexts else list(app.routes)
    found = set()
    for route in routes:
        methods = getattr(route, "methods", None)
        if methods is None:
            found.add(("MOUNT", route.path))
            continue
        for method in methods:
            if method != "HEAD":
                found.add((method, route.path))
    return found


def documented(openapi: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in openapi["paths"].items()
        for method in item
        if method in METHODS
    }


def test_every_route_is_documented_and_every_operation_served(app, openapi) -> None:
    served = served_routes(app)
    contract = documented(openapi)
    assert served - contract == UNDOCUMENTED, served - contract - UNDOCUMENTED
    assert contract <= served, contract - served
    assert len(contract) >= 70


def test_every_api_route_is_versioned(app) -> None:
    for method, path in served_routes(app) - UNDOCUMENTED:
        # /v/{code}: the public verification page, its address printed in every QR.
        public = path in ("/healthz", "/readyz", "/v/{code}")
        assert path.startswith("/api/v1/") or public, (method, path)


UNKNOWN = [
    "/api/v2/incidents",
    "/api/v0/incidents",
    "/api/incidents",
    "/api/v1/nonexistent",
    "/api/v1/admin",
    "/api/v1/internal/users",
    "/api/v1/incidents/00000000-0000-0000-0000-000000000000/secret",
    "/api/v1/users/me/password_hash",
    "/metrics",
    "/graphql",
    "/swagger.json",
    "/openapi.yaml",
    "/api/v1/openapi.json",
    "/docs/assets/../../app/core/config.py",
    "/docs/assets/%2e%2e/%2e%2e/app/core/config.py",
]


def test_unknown_paths_are_404(client, auth) -> None:
    for path in UNKNOWN:
        for headers in ({}, auth("admin")):
            response = client.get(path, headers=headers)
            problem(response, 404, "not-found")
            assert "TRANTIB" not in response.text and "signing" not in response.text


def test_methods_the_contract_lacks_are_405(client, auth, openapi) -> None:
    contract = documented(openapi)
    tried = 0
    for path in ("/api/v1/incidents", "/api/v1/users", "/api/v1/sop", "/api/v1/units"):
        for method in ("PUT", "PATCH", "DELETE"):
            if (method, path) in contract:
                continue
            response = client.request(method, path, headers=auth("admin"))
            problem(response, 405, "method-not-allowed")
            assert "allow" in response.headers
            tried += 1
    assert tried >= 10


def test_health_answers_reveal_nothing_of_the_setup(client) -> None:
    for path in ("/healthz", "/readyz"):
        response = client.get(path)
        assert response.status_code == 200
        text = response.text.lower()
        for secret in ("sqlite", "postgres", "password", "key", "trantib_", "/"):
            assert secret not in text, (path, response.text)
