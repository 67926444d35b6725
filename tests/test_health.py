"""The probes, and what they and every answer tell an anonymous caller."""

from __future__ import annotations


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_answers_ready_and_names_no_revision(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    # The migration revision told anyone which release runs; operators have the CLI for it.
    assert response.json() == {"status": "ready"}


def test_unknown_route_is_problem_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/not-found")
