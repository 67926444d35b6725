"""Every problem type reads in English (the default) and, with Accept-Language: id, in Bahasa
Indonesia; `type`, `status` and the machine members stay the same in both.

The problem types are those of the error classes (every AppError subclass in app/) and of the
handlers that answer without one: a new error class without its Indonesian words fails here,
naming its type.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import app as app_package
from app.core.errors import _HTTP_KINDS, TYPE_BASE, AppError, install_error_handlers
from app.core.messages import CATALOGUE, INDONESIAN, language
from app.docs import _HANDLER_PROBLEMS
from tests.lifecycle.flow import WALIKOTA_ORDER, Flow


def _error_classes() -> dict[str, type[AppError]]:
    for module in pkgutil.walk_packages(app_package.__path__, "app."):
        if module.name != "app.__main__":
            importlib.import_module(module.name)
    found: dict[str, type[AppError]] = {}
    pending: list[type[AppError]] = [AppError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("app."):
            found.setdefault(cls.kind, cls)
    return found


CLASSES = _error_classes()
KINDS = sorted(
    set(CLASSES) | {kind for _, kind, _ in _HANDLER_PROBLEMS} | {k for k, _ in _HTTP_KINDS.values()}
)


def test_every_problem_type_has_its_indonesian_words() -> None:
    missing = [kind for kind in KINDS if kind not in CATALOGUE[INDONESIAN]]
    assert not missing, (
        "problem types without Indonesian title and detail in app/core/messages.py: "
        + ", ".join(
            f"{kind} ({CLASSES[kind].title if kind in CLASSES else 'handler'})" for kind in missing
        )
    )
    unused = sorted(set(CATALOGUE[INDONESIAN]) - set(KINDS))
    assert not unused, f"catalogue entries for no problem type: {unused}"


def _raising(cls: type[AppError]) -> AppError:
    """An instance with the class's own title as its detail (required arguments: 1)."""
    required = [
        p
        for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return cls(*[1] * len(required))


@pytest.fixture(scope="module")
def raiser() -> TestClient:
    """The service's own error handlers behind one route that raises the named class."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/raise/{kind}")
    def raise_(kind: str) -> None:
        raise _raising(CLASSES[kind])

    return TestClient(app)


@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_each_error_class_answers_in_both_languages(raiser: TestClient, kind: str) -> None:
    cls = CLASSES[kind]
    english = raiser.get(f"/raise/{kind}")
    indonesian = raiser.get(f"/raise/{kind}", headers={"Accept-Language": "id"})
    words = CATALOGUE[INDONESIAN][kind]
    for response in (english, indonesian):
        assert response.status_code == cls.status
        assert response.json()["type"] == TYPE_BASE + kind
    assert english.headers["content-language"] == "en"
    assert (english.json()["title"], english.json()["detail"]) == (cls.title, cls.title)
    assert indonesian.headers["content-language"] == "id"
    assert (indonesian.json()["title"], indonesian.json()["detail"]) == (words.title, words.detail)
    assert words.title != cls.title
    # Nothing but the words differs.
    strip = {"title", "detail", "error_description"}
    assert {k: v for k, v in english.json().items() if k not in strip} == {
        k: v for k, v in indonesian.json().items() if k not in strip
    }


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        (None, "en"),
        ("", "en"),
        ("id", "id"),
        ("id-ID,id;q=0.9,en;q=0.8", "id"),
        ("en-US,en;q=0.9,id;q=0.8", "en"),
        ("fr, id;q=0.5", "id"),
        ("id;q=0", "en"),
        ("de", "en"),
        ("*", "en"),
        ("id;q=nonsense, en;q=0.1", "en"),
    ],
)
def test_the_language_follows_accept_language(header: str | None, chosen: str) -> None:
    assert language(header) == chosen


def _problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["type"] == TYPE_BASE + kind
    return body


ID = {"Accept-Language": "id"}


def test_a_wrong_step_names_the_step_and_whom_it_waits_for(flow: Flow) -> None:
    flow.create()
    refused = flow.client.post(
        f"/api/v1/incidents/{flow.incident_id}/instructions",
        json={"danru_id": flow.uid("danru")},
        headers=flow.as_("kasi"),
    )
    body = _problem(refused, 409, "wrong-step")
    step = flow.definition(flow.incident()["sop_version"])["steps"][0]
    assert (body["current_step"], body["waiting_on"]) == (1, "camat")
    assert body["step_name"] == step["name"]
    assert f"step 1 ({step['name']}) and waits for the Camat" in body["detail"]
    indonesian = _problem(
        flow.client.post(
            f"/api/v1/incidents/{flow.incident_id}/instructions",
            json={"danru_id": flow.uid("danru")},
            headers={**flow.as_("kasi"), **ID},
        ),
        409,
        "wrong-step",
    )
    assert indonesian["title"] == "Belum dapat dilakukan pada langkah ini"
    assert indonesian["detail"] == (
        f"Tindakan ini belum dapat dilakukan: insiden sedang di langkah 1 ({step['name']}) "
        "dan menunggu Camat."
    )
    assert {k: indonesian[k] for k in ("current_step", "waiting_on", "stage")} == {
        k: body[k] for k in ("current_step", "waiting_on", "stage")
    }


def test_a_missing_scope_says_who_may_do_it(flow: Flow) -> None:
    flow.create()
    path = f"/api/v1/incidents/{flow.incident_id}/orders"
    order = {**WALIKOTA_ORDER, "number": "GANTI-NOMOR/9/2026"}
    english = _problem(
        flow.client.post(path, json=order, headers=flow.as_("kasi")), 403, "insufficient-scope"
    )
    assert english["allowed_roles"] == ["camat"]
    assert english["detail"].startswith("Only the Camat may")
    indonesian = _problem(
        flow.client.post(path, json=order, headers={**flow.as_("kasi"), **ID}),
        403,
        "insufficient-scope",
    )
    assert indonesian["detail"] == (
        "Hanya Camat yang dapat melakukan ini (perlu scope orders:command)."
    )


def test_field_errors_are_named_in_indonesian(flow: Flow) -> None:
    response = flow.client.post(
        "/api/v1/incidents", json={"kind": "unjuk_rasa"}, headers={**flow.as_("kasi"), **ID}
    )
    body = _problem(response, 422, "validation-error")
    assert body["title"] == "Isian tidak valid"
    assert body["detail"].startswith("Ada isian yang tidak valid: ")
    assert "title" in body["detail"] and body["errors"]
