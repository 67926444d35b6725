"""The OpenAPI contract: the committed document is what the app serves, and every operation
follows the shared conventions clients rely on."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from app.auth.deps import STAFF_SCHEME as STAFF
from app.auth.deps import SYSTEM_SCHEME as SYSTEM
from app.core.errors import PROBLEM_JSON, TYPE_BASE
from tests.lifecycle.flow import INCIDENT, ORDER_DRAFT, WALIKOTA_ORDER

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "openapi" / "openapi.json"
METHODS = ("get", "put", "post", "delete", "patch")
PUBLIC = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/auth/refresh"),
    # The page an issued document's QR leads to: anyone holding the paper may ask.
    ("get", "/v/{code}"),
    ("post", "/v/{code}"),
}
# Any valid token will do: they act on, or show, the caller's own account or the SOP.
IDENTITY_ONLY = {
    "auth_logout",
    "users_me",
    "sop_get",
    "sop_versions_list",
    "sop_versions_get",
    # A person's own phones: any logged-in user, no scope.
    "push_vapid_public_key",
    "push_subscriptions_put",
    "push_subscriptions_list",
    "push_subscriptions_delete",
}
OPERATION_ID = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
DOC_URI = "urn:trantib:openapi"
SCHEMAS = "#/components/schemas/"


@pytest.fixture(scope="module")
def document(app) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    # A copy: the app caches its document, and tests must not change it for others.
    return json.loads(json.dumps(app.openapi()))


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in sorted(document["paths"].items()):
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _differences(old: Any, new: Any, where: str = "") -> Iterator[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            if key not in new:
                yield f"{where}/{key}: removed"
            elif key not in old:
                yield f"{where}/{key}: added"
            else:
                yield from _differences(old[key], new[key], f"{where}/{key}")
    elif old != new:
        yield f"{where}: changed"


def test_committed_document_is_what_the_app_serves(document):
    assert COMMITTED.exists(), "openapi/openapi.json is missing: run `make openapi`"
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    if committed != document:
        diff = list(_differences(committed, document))
        shown = "\n  ".join(diff[:15]) + ("\n  ..." if len(diff) > 15 else "")
        pytest.fail(
            "openapi/openapi.json differs from the app's schema; run `make openapi` and commit "
            f"it ({len(diff)} differences):\n  {shown}"
        )


def test_committed_document_is_sorted_pretty_json():
    text = COMMITTED.read_text(encoding="utf-8")
    expected = json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert text == expected, "openapi/openapi.json is not in export format; run `make openapi`"


def test_document_is_valid_openapi(document):
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_operation_ids_are_unique_resource_verb(document):
    ids = [op.get("operationId", "") for _, _, op in operations(document)]
    bad = [i for i in ids if not OPERATION_ID.match(i)]
    assert not bad, f"operationId must be resource_verb (snake case): {bad}"
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"duplicate operationIds: {duplicates}"


def test_every_operation_has_a_tag_and_a_summary(document):
    missing = [
        f"{method.upper()} {path}"
        for method, path, op in operations(document)
        if not op.get("tags") or not op.get("summary", "").strip()
    ]
    assert not missing, f"operations without tags or summary: {missing}"


def test_public_operations_are_exactly_the_expected_ones(document):
    public = {(m, p) for m, p, op in operations(document) if not op.get("security")}
    assert public == PUBLIC


def test_secured_operations_declare_their_scopes(document):
    schemes = document["components"]["securitySchemes"]
    known_scopes = set(schemes[STAFF]["flows"]["password"]["scopes"])
    problems = []
    for method, path, op in operations(document):
        if (method, path) in PUBLIC:
            continue
        where = f"{method.upper()} {path}"
        requirements = op["security"]
        # An officer's login or a city system's, with the same scopes.
        if [list(r) for r in requirements] != [[STAFF], [SYSTEM]]:
            problems.append(f"{where}: security must name {STAFF}, then {SYSTEM}")
            continue
        if requirements[0][STAFF] != requirements[1][SYSTEM]:
            problems.append(f"{where}: the two logins need different scopes")
        scopes = list(requirements[0][STAFF])
        # The scope of these depends on the body (e.g. the order's kind): listed separately.
        scopes += op.get("x-required-scopes", [])
        if not scopes and op["operationId"] not in IDENTITY_ONLY:
            problems.append(f"{where}: no scopes declared")
        unknown = set(scopes) - known_scopes
        if unknown:
            problems.append(f"{where}: unknown scopes {sorted(unknown)}")
        if "401" not in op["responses"]:
            problems.append(f"{where}: 401 not documented")
        if "429" not in op["responses"]:
            problems.append(f"{where}: 429 (per-token rate limit) not documented")
        if scopes and "403" not in op["responses"]:
            problems.append(f"{where}: 403 not documented")
    assert not problems, "\n".join(problems)


def test_every_error_response_is_problem_json(document):
    problems = []
    for method, path, op in operations(document):
        for code, response in op["responses"].items():
            if int(code) < 400:
                continue
            content = response.get("content", {})
            if list(content) != [PROBLEM_JSON]:
                problems.append(f"{method.upper()} {path} {code}: content {sorted(content)}")
                continue
            schema = resolve(document, content[PROBLEM_JSON]["schema"])
            if not {"type", "title", "status"} <= set(schema.get("required", [])):
                problems.append(f"{method.upper()} {path} {code}: not a Problem schema")
    assert not problems, "\n".join(problems)


def test_bad_requests_are_documented_where_they_can_happen(document):
    problems = []
    for method, path, op in operations(document):
        where = f"{method.upper()} {path}"
        body = op.get("requestBody", {}).get("content", {})
        if (op.get("parameters") or body) and "422" not in op["responses"]:
            problems.append(f"{where}: has parameters or a body but no 422")
        if "application/json" in body and "400" not in op["responses"]:
            problems.append(f"{where}: takes JSON but documents no 400 (malformed JSON)")
        if body and "413" not in op["responses"]:
            problems.append(f"{where}: takes a body but documents no 413")
        if "429" in op["responses"] and "Retry-After" not in op["responses"]["429"].get(
            "headers", {}
        ):
            problems.append(f"{where}: 429 without its Retry-After header")
        if "422" in op["responses"]:
            ref = op["responses"]["422"]["content"][PROBLEM_JSON]["schema"].get("$ref", "")
            if not ref.endswith("/ValidationProblem"):
                problems.append(f"{where}: 422 is not a ValidationProblem")
    assert not problems, "\n".join(problems)
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_authenticated_posts_take_an_idempotency_key(document):
    missing = [
        path
        for method, path, op in operations(document)
        if method == "post"
        and op.get("security")
        and not any(p["name"] == "Idempotency-Key" for p in op.get("parameters", []))
    ]
    assert not missing, f"POSTs without the Idempotency-Key header: {missing}"


def _body_variants(
    document: dict[str, Any], media: dict[str, Any]
) -> list[tuple[str | None, dict[str, Any]]]:
    """(component name or None, schema) of each shape a request body may take."""
    schema = resolve(document, media["schema"])
    variants = schema.get("oneOf") or schema.get("anyOf") or [schema]
    return [
        (v["$ref"].rsplit("/", 1)[1] if "$ref" in v else None, resolve(document, v))
        for v in variants
        if v.get("type") != "null"
    ]


def test_request_bodies_have_valid_examples(document):
    registry = Registry().with_resource(
        DOC_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    problems = []
    for method, path, op in operations(document):
        if method not in ("post", "patch", "put"):
            continue
        for media_type, media in op.get("requestBody", {}).get("content", {}).items():
            # A file upload's example would be bytes; its fields are described instead.
            if media_type == "multipart/form-data":
                continue
            where = f"{method.upper()} {path} ({media_type})"
            has_media_examples = "example" in media or bool(media.get("examples"))
            for name, variant in _body_variants(document, media):
                if variant.get("type") != "object":
                    continue
                examples = variant.get("examples", [])
                if not examples and not has_media_examples:
                    problems.append(f"{where}: no example for {name or 'the body'}")
                if name is None:
                    continue
                ref = {"$ref": f"{DOC_URI}#/components/schemas/{name}"}
                validator = OAS31Validator(ref, registry=registry)
                for example in examples:
                    for error in validator.iter_errors(example):
                        problems.append(f"{where}: {name} example does not fit: {error.message}")
    assert not problems, "\n".join(problems)


def test_one_of_request_bodies_offer_a_named_example_of_each_kind(document):
    """Swagger UI's example picker lists the media type's named examples: one per variant,
    each a valid body of its variant."""
    registry = Registry().with_resource(
        DOC_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    bodies = 0
    for method, path, op in operations(document):
        media = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        mapping = resolve(document, media.get("schema", {})).get("discriminator", {}).get("mapping")
        if not mapping:
            continue
        bodies += 1
        examples = media.get("examples", {})
        where = f"{method.upper()} {path}"
        assert set(examples) == set(mapping), f"{where}: named examples {sorted(examples)}"
        for kind, example in examples.items():
            assert example["summary"] and example["value"]["kind"] == kind, where
            name = mapping[kind].rsplit("/", 1)[1]
            validator = OAS31Validator(
                {"$ref": f"{DOC_URI}#/components/schemas/{name}"}, registry=registry
            )
            errors = [e.message for e in validator.iter_errors(example["value"])]
            assert not errors, f"{where}: the {kind} example does not fit: {errors}"
    assert bodies == 2  # orders (walikota, surat_perintah) and drafts (order, report)


def test_union_request_bodies_are_named_components(document):
    """Generators named two inline bodies Body and Body1: each oneOf body is a component."""
    inline = [
        f"{method.upper()} {path}"
        for method, path, op in operations(document)
        if "oneOf"
        in op.get("requestBody", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema", {})
    ]
    assert inline == []
    orders = document["paths"]["/api/v1/incidents/{incident_id}/orders"]["post"]
    drafts = document["paths"]["/api/v1/incidents/{incident_id}/drafts"]["post"]
    for op, name in ((orders, "OrderCreate"), (drafts, "DraftCreate")):
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{name}"}
        assert "oneOf" in document["components"]["schemas"][name]


def test_officers_and_city_systems_log_in_by_name_at_one_token_url(document):
    schemes = document["components"]["securitySchemes"]
    assert set(schemes) == {STAFF, SYSTEM}
    staff, system = schemes[STAFF], schemes[SYSTEM]
    assert set(staff["flows"]) == {"password"} and set(system["flows"]) == {"clientCredentials"}
    password, credentials = staff["flows"]["password"], system["flows"]["clientCredentials"]
    assert password["tokenUrl"] == credentials["tokenUrl"] == "/api/v1/auth/token"
    assert credentials["scopes"] == password["scopes"]
    # The names people read in the Authorize dialog, and what an officer need not do.
    assert staff["description"].startswith("**Akun petugas (username dan password)**")
    assert "tidak perlu dicentang" in staff["description"]
    assert system["description"].startswith("**Sistem Pemkot")


def test_problem_schema_lists_the_problem_types(document):
    description = document["components"]["schemas"]["Problem"]["description"]
    for kind in ("wrong-step", "insufficient-scope", "malformed-json", "validation-error"):
        assert f"`{kind}`" in description


class TestDocumentedErrorsAreWhatTheServerSends:
    """The shared error responses are documented centrally; check the server really sends them."""

    def validator(self, document: dict[str, Any], name: str) -> OAS31Validator:
        registry = Registry().with_resource(
            DOC_URI, Resource.from_contents(document, default_specification=DRAFT202012)
        )
        return OAS31Validator({"$ref": f"{DOC_URI}#/components/schemas/{name}"}, registry=registry)

    def test_malformed_json_is_400_problem(self, client, auth, document):
        response = client.post(
            "/api/v1/incidents",
            content=b'{"title": ',
            headers={**auth("camat.ciledug"), "Content-Type": "application/json"},
        )
        assert response.status_code == 400
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.json()["type"] == TYPE_BASE + "malformed-json"
        self.validator(document, "Problem").validate(response.json())

    def test_invalid_body_is_422_validation_problem(self, client, auth, document):
        response = client.post("/api/v1/incidents", json={}, headers=auth("camat.ciledug"))
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM_JSON
        body = response.json()
        assert body["type"] == TYPE_BASE + "validation-error"
        assert body["errors"]
        self.validator(document, "ValidationProblem").validate(body)

    def test_a_refusal_after_validation_carries_errors_too(self, client, auth, document):
        """An unknown kelurahan is found by the service, not by the schema: the 422 names the
        field at the top and in `errors`, one shape for a typed client."""
        body = {**INCIDENT, "location": {**INCIDENT["location"], "kelurahan": "Atlantis"}}
        response = client.post("/api/v1/incidents", json=body, headers=auth("kasi.ciledug"))
        assert response.status_code == 422
        problem = response.json()
        assert problem["field"] == "location.kelurahan"
        assert [(e["field"], e["loc"]) for e in problem["errors"]] == [
            ("location.kelurahan", ["location", "kelurahan"])
        ]
        assert problem["errors"][0]["message"] == problem["detail"]
        self.validator(document, "ValidationProblem").validate(problem)

        key = {"Idempotency-Key": "k-reused-1", **auth("kasi.ciledug")}
        assert client.post("/api/v1/incidents", json=INCIDENT, headers=key).status_code == 201
        reused = client.post(
            "/api/v1/incidents", json={**INCIDENT, "title": "Lain"}, headers=key
        ).json()
        assert reused["type"] == TYPE_BASE + "idempotency-key-reused"
        assert reused["errors"][0]["type"] == "idempotency-key-reused"
        self.validator(document, "ValidationProblem").validate(reused)

    def test_missing_token_is_401_problem(self, client, document):
        response = client.get("/api/v1/tasks")
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM_JSON
        self.validator(document, "Problem").validate(response.json())


def test_schema_names_are_plain_and_unique(document):
    # Two models of one name in different modules become "app__x__schemas__Name": generators
    # then miss the reference and drop the operation's response.
    qualified = [name for name in document["components"]["schemas"] if "__" in name]
    assert qualified == []


def test_every_operation_has_one_tag_and_the_document_names_its_server(
    document: dict[str, Any],
) -> None:
    """Generators make one module per tag: an operation under two tags was exported twice
    (typescript-fetch: TS2308)."""
    assert document["servers"] == [{"url": "/"}]
    tagged = {f"{m.upper()} {p}": op.get("tags", []) for m, p, op in operations(document)}
    assert {where: tags for where, tags in tagged.items() if len(tags) != 1} == {}


def test_optional_headers_are_plain_strings_and_accept_is_no_parameter(
    document: dict[str, Any],
) -> None:
    """A null header cannot be sent: a client generated from anyOf [string, null] accepted
    None and its HTTP library then failed. Accept is not an OpenAPI parameter."""
    problems = []
    for method, path, op in operations(document):
        for parameter in op.get("parameters", []):
            if parameter["in"] != "header":
                continue
            where = f"{method.upper()} {path} {parameter['name']}"
            if parameter["name"].lower() in {"accept", "content-type", "authorization"}:
                problems.append(f"{where}: not a parameter in OpenAPI")
            if "anyOf" in parameter["schema"] or parameter["schema"].get("type") != "string":
                problems.append(f"{where}: {parameter['schema']}")
    assert not problems, "\n".join(problems)
    summary = document["paths"]["/api/v1/sla/summary"]["get"]
    formats = [p for p in summary["parameters"] if p["name"] == "format"]
    assert formats and formats[0]["in"] == "query"
    assert "text/csv" in summary["responses"]["200"]["content"]


def test_problem_types_and_members_are_declared_for_typed_clients(
    document: dict[str, Any],
) -> None:
    """A client switches on `type` and reads the members some problems add: both are in the
    schema, so a generated client has them typed (the kinds are read from the catalogue
    the description lists, which the error classes produce)."""
    problem = document["components"]["schemas"]["Problem"]
    listed = set(re.findall(r"^\| \d{3} \| `([a-z0-9-]+)` \|", problem["description"], re.M))
    examples = problem["properties"]["type"]["examples"]
    assert {e.removeprefix(TYPE_BASE) for e in examples} == listed
    assert {"wrong-step", "delegation-overlap", "no-document", "validation-error"} <= listed
    for member in ("current_step", "stage", "waiting_on", "current_version", "required_scopes"):
        assert member in problem["properties"], member
    for member in ("accepted", "error"):
        assert member in problem["properties"], member
    validation = document["components"]["schemas"]["ValidationProblem"]
    assert "errors" in validation["required"]


def _declared(document: dict[str, Any], method: str, path: str, status: int) -> set[str]:
    response = document["paths"][path][method]["responses"][str(status)]
    return set(response.get("headers", {}))


def test_the_headers_a_client_reads_are_declared_where_they_are_sent(document, flow, client):
    """A generated client keeps only declared headers: it lost the ETag it needs for
    If-Match. Each header seen on these live answers is declared on that response."""
    headers = set(document["components"]["headers"])
    assert headers >= {"ETag", "Location", "Idempotent-Replayed", "Retry-After", "WWW-Authenticate"}
    flow.run_to(6)
    calls = [
        ("get", "/api/v1/incidents/{incident_id}", f"/api/v1/incidents/{flow.incident_id}"),
        ("get", "/api/v1/drafts/{draft_id}", f"/api/v1/drafts/{flow.draft_id}"),
        (
            "get",
            "/api/v1/orders/{order_id}/document",
            f"/api/v1/orders/{flow.order_id}/document",
        ),
        ("get", "/api/v1/tasks", "/api/v1/tasks"),
    ]
    for method, template, url in calls:
        response = client.request(method, url, headers=flow.as_("kasi"))
        assert response.status_code == 200, response.text
        sent = "ETag" in response.headers
        assert sent == ("ETag" in _declared(document, method, template, 200)), template

    key = {**flow.as_("kasi"), "Idempotency-Key": "headers-contract-1"}
    first = client.post("/api/v1/incidents", json=INCIDENT, headers=key)
    again = client.post("/api/v1/incidents", json=INCIDENT, headers=key)
    assert again.headers["Idempotent-Replayed"] == "true"
    for name in ("ETag", "Location"):
        assert name in first.headers
    assert {"ETag", "Location", "Idempotent-Replayed"} <= _declared(
        document, "post", "/api/v1/incidents", 201
    )

    anonymous = client.get("/api/v1/tasks")
    assert anonymous.status_code == 401 and "WWW-Authenticate" in anonymous.headers
    assert "WWW-Authenticate" in _declared(document, "get", "/api/v1/tasks", 401)
    assert "Retry-After" in _declared(document, "get", "/api/v1/tasks", 429)


# Response schemas whose members may be absent: a problem's extension members belong to some
# problem types only, a client-credentials token has no refresh token (sent without nulls), an
# incident's location is answered as registered (what was not given is absent) and a manifest
# entry as archived (its hash covers the entries as they are).
OPTIONAL_MEMBERS_ALLOWED = {
    "Problem",
    "ValidationProblem",
    "TokenResponse",
    "LocationPublic",
    "ManifestEntry",
}


def _schemas_under(node: Any, schemas: dict[str, Any], found: set[str]) -> set[str]:
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[-1]
            if name not in found:
                found.add(name)
                _schemas_under(schemas[name], schemas, found)
        for value in node.values():
            _schemas_under(value, schemas, found)
    elif isinstance(node, list):
        for value in node:
            _schemas_under(value, schemas, found)
    return found


def test_every_member_of_an_answer_is_required(document):
    """The service sends every member of its answers, null when unset; openapi-typescript
    typed the ones with defaults as optional, so a client had to check for undefined."""
    schemas = document["components"]["schemas"]
    answers: set[str] = set()
    asked: set[str] = set()
    for operations in document["paths"].values():
        for method in METHODS:
            if method in operations:
                _schemas_under(operations[method]["responses"], schemas, answers)
                _schemas_under(operations[method].get("requestBody", {}), schemas, asked)
                _schemas_under(operations[method].get("parameters", []), schemas, asked)
    optional = {
        name: sorted(set(schemas[name]["properties"]) - set(schemas[name].get("required", [])))
        for name in answers - asked - OPTIONAL_MEMBERS_ALLOWED
        if "properties" in schemas[name]
    }
    assert {name: members for name, members in optional.items() if members} == {}


def _answer_errors(document: dict[str, Any]) -> Any:
    """A function (method, path template, status, body) -> the ways `body` breaks the schema
    the document declares for that answer."""
    registry = Registry().with_resource(
        DOC_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )

    def errors(
        method: str, template: str, status: int, body: Any, media: str = "application/json"
    ) -> list[str]:
        pointer = template.replace("~", "~0").replace("/", "~1")
        answer = (
            f"{DOC_URI}#/paths/{pointer}/{method}/responses/{status}/content/"
            f"{media.replace('/', '~1')}/schema"
        )
        validator = OAS31Validator({"$ref": answer}, registry=registry)
        return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(body)]

    return errors


def test_answers_of_a_whole_incident_carry_every_required_member(document, flow, client):
    """The required members are really sent, and what is sent is what the schema declares:
    each JSON answer of an incident run to its end, both kinds of order and of draft among
    them, validates against its declared schema (a missing member, a member of the wrong
    kind's content or one the schema does not know fails here, not in a client)."""
    errors = _answer_errors(document)
    flow.run_to(11)
    archived = flow.step11()
    assert errors("post", "/api/v1/incidents/{incident_id}/archive-records", 201, archived) == []
    incident = f"/api/v1/incidents/{flow.incident_id}"
    orders = client.get(f"{incident}/orders", headers=flow.as_("camat")).json()
    walikota = next(o["id"] for o in orders if o["kind"] == "walikota")
    calls = [
        ("/api/v1/incidents/{incident_id}", incident),
        ("/api/v1/incidents/{incident_id}/orders", f"{incident}/orders"),
        ("/api/v1/incidents/{incident_id}/drafts", f"{incident}/drafts"),
        ("/api/v1/incidents/{incident_id}/events", f"{incident}/events"),
        ("/api/v1/incidents/{incident_id}/report", f"{incident}/report"),
        ("/api/v1/incidents/{incident_id}/verifications", f"{incident}/verifications"),
        ("/api/v1/incidents/{incident_id}/timeline", f"{incident}/timeline"),
        ("/api/v1/incidents/{incident_id}/briefings", f"{incident}/briefings"),
        ("/api/v1/drafts/{draft_id}", f"/api/v1/drafts/{flow.draft_id}"),
        ("/api/v1/drafts/{draft_id}", f"/api/v1/drafts/{flow.report_draft_id}"),
        ("/api/v1/drafts/{draft_id}/versions", f"/api/v1/drafts/{flow.draft_id}/versions"),
        (
            "/api/v1/drafts/{draft_id}/versions",
            f"/api/v1/drafts/{flow.report_draft_id}/versions",
        ),
        ("/api/v1/orders/{order_id}", f"/api/v1/orders/{flow.order_id}"),
        ("/api/v1/orders/{order_id}", f"/api/v1/orders/{walikota}"),
        ("/api/v1/archive-records/{record_id}", f"/api/v1/archive-records/{archived['id']}"),
        ("/api/v1/tasks", "/api/v1/tasks"),
        ("/api/v1/users/me", "/api/v1/users/me"),
    ]
    for template, url in calls:
        assert template in document["paths"], template
        response = client.get(url, headers=flow.as_("camat"))
        assert response.status_code == 200, (url, response.text)
        assert errors("get", template, 200, response.json()) == [], url


def test_step_answers_of_each_kind_validate_against_their_declared_union(document, flow, client):
    """A step action's answer (the record and the incident) of each kind of order and draft
    validates against the answer the operation declares."""
    errors = _answer_errors(document)
    flow.create()
    orders = "/api/v1/incidents/{incident_id}/orders"
    drafts = "/api/v1/incidents/{incident_id}/drafts"
    assert errors("post", orders, 201, flow.step1()) == []
    flow.step2()
    created = client.post(
        f"/api/v1/incidents/{flow.incident_id}/drafts", json=ORDER_DRAFT, headers=flow.as_("danru")
    )
    assert created.status_code == 201, created.text
    assert errors("post", drafts, 201, created.json()) == []
    flow.draft_id = created.json()["id"]
    assert errors("post", "/api/v1/drafts/{draft_id}/submit", 200, flow.step3()) == []
    flow.step4()
    assert errors("post", orders, 201, flow.step5()) == []
    assert errors("post", "/api/v1/orders/{order_id}/dispatch", 200, flow.step6()) == []
    flow.step7()
    flow.step8()
    assert errors("post", "/api/v1/drafts/{draft_id}/submit", 200, flow.step9()) == []


def _canonical_sha256(value: Any) -> str:
    # The hash the service documents for content_sha256: SHA-256 of canonical JSON (sorted
    # keys, no spaces, UTF-8).
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def test_contents_are_answered_exactly_as_hashed(flow, client):
    """Typing the contents in the contract changed nothing on the wire: each order's and
    draft version's content is answered as it was hashed when written."""
    flow.run_to(11)
    incident = f"/api/v1/incidents/{flow.incident_id}"
    answers = [
        *client.get(f"{incident}/orders", headers=flow.as_("camat")).json(),
        *client.get(f"{incident}/drafts", headers=flow.as_("camat")).json(),
        client.get(f"{incident}/report", headers=flow.as_("camat")).json(),
    ]
    for draft_id in (flow.draft_id, flow.report_draft_id):
        versions = client.get(f"/api/v1/drafts/{draft_id}/versions", headers=flow.as_("camat"))
        answers += versions.json()["items"]
    assert {a.get("kind") for a in answers} >= {"walikota", "surat_perintah", "order", "report"}
    assert len(answers) >= 7
    for answer in answers:
        assert _canonical_sha256(answer["content"]) == answer["content_sha256"], answer


# The records answered per kind, like the requests that make them: the union, and its answer
# with the incident.
KIND_UNIONS = {
    "OrderCreate": ("OrderPublic", "OrderAnswer"),
    "DraftCreate": ("DraftPublic", "DraftAnswer"),
}


def test_order_and_draft_answers_are_discriminated_on_kind_like_their_requests(document):
    """A generated client typed an order's and a draft's content as a free-form map; each is
    now one named schema per kind, chosen by `kind` as in the request."""
    schemas = document["components"]["schemas"]
    for request, answers in KIND_UNIONS.items():
        kinds = set(schemas[request]["discriminator"]["mapping"])
        for name in answers:
            union = schemas[name]
            assert union["discriminator"]["propertyName"] == "kind", name
            mapping = union["discriminator"]["mapping"]
            assert set(mapping) == kinds, name
            assert sorted(v["$ref"] for v in union["oneOf"]) == sorted(mapping.values()), name
            for kind, ref in mapping.items():
                variant = resolve(document, {"$ref": ref})
                assert variant["properties"]["kind"]["const"] == kind, ref
                content = variant["properties"]["content"]
                assert "$ref" in content, (ref, content)
                assert resolve(document, content)["properties"], ref
    report = resolve(document, schemas["ReportPublic"]["properties"]["content"])
    assert "summary" in report["properties"]


def _free_form(node: Any, where: str, found: list[str]) -> None:
    if isinstance(node, dict):
        values = node.get("additionalProperties", True)
        typed_map = isinstance(values, dict) and bool(values)
        if node.get("type") == "object" and "properties" not in node and not typed_map:
            found.append(where)
        for key, value in node.items():
            _free_form(value, f"{where}/{key}", found)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _free_form(value, f"{where}[{index}]", found)


# Members of answers that are free-form objects on purpose.
FREE_FORM_ALLOWED = {
    # An audit event's snapshots and data: the state an action changed, whatever the action.
    "AuditEventPublic/properties/before",
    "AuditEventPublic/properties/after",
    "AuditEventPublic/properties/data",
    "DelegationEventPublic/properties/data",
    # A notification's and a webhook delivery's data: each kind of event carries its own.
    "NotificationPublic/properties/data",
    "DeliveryDetail/properties/payload",
}


def test_answers_hold_no_free_form_object_but_the_listed_ones(document):
    """ManifestEntry, the incident's location, organizer and police, the orders' and drafts'
    contents were free-form objects: a generated client had a map of anything."""
    schemas = document["components"]["schemas"]
    answers: set[str] = set()
    for _method, _path, op in operations(document):
        _schemas_under(op["responses"], schemas, answers)
    found: list[str] = []
    for name in sorted(answers):
        _free_form(schemas[name], name, found)
    unexpected = [
        where
        for where in found
        if not any(where.startswith(allowed) for allowed in FREE_FORM_ALLOWED)
    ]
    assert unexpected == [], "\n".join(unexpected)
    incident = schemas["IncidentPublic"]["properties"]
    assert incident["location"]["$ref"].endswith("/LocationPublic")
    assert incident["police"]["$ref"].endswith("/PoliceNotice")
    assert {"$ref": SCHEMAS + "Organizer"} in incident["organizer"]["anyOf"]
    assert schemas["ManifestEntry"]["properties"]


def _definition_values() -> tuple[set[str], set[str], set[str]]:
    """The stages, actions and step codes every shipped SOP definition names, read from its
    file."""
    stages: set[str] = set()
    actions: set[str] = set()
    codes: set[str] = set()
    for path in (ROOT / "app" / "sop" / "definitions").glob("*.toml"):
        sop = tomllib.loads(path.read_text(encoding="utf-8"))
        actions.update(a["action"] for a in sop.get("incident_actions", []))
        for step in sop["steps"]:
            codes.add(step["code"])
            stages.update(step.get("stages", []))
            for rule in step.get("rules", []):
                actions.update(rule["actions"])
    return stages, actions, codes


def test_roles_and_actions_in_answers_are_the_named_enums_and_stages_are_documented(document):
    """actor_role, waiting_on and allowed_actions were plain strings: roles and action kinds
    are fixed sets of the service (enums); stage names are data of each SOP version, so
    they are documented with the current ones rather than frozen."""
    schemas = document["components"]["schemas"]
    stages, actions, codes = _definition_values()
    assert actions <= set(schemas["Action"]["enum"])
    assert {"camat", "sekcam", "kasi_trantib", "danru", "anggota"} <= set(schemas["Role"]["enum"])
    role, action = {"$ref": SCHEMAS + "Role"}, {"$ref": SCHEMAS + "Action"}
    incident = schemas["IncidentPublic"]["properties"]
    assert role in incident["waiting_on"]["anyOf"]
    assert incident["allowed_actions"]["items"] == action
    assert schemas["Task"]["properties"]["actions"]["items"] == action
    assert role in schemas["AuditEventPublic"]["properties"]["actor_role"]["anyOf"]
    assert schemas["DelegationEventPublic"]["properties"]["actor_role"]["$ref"] == role["$ref"]
    for name in ("RunTiming", "Breach", "PersonRef"):
        assert schemas[name]["properties"]["role"]["$ref"] == role["$ref"], name
    escalation = schemas["EscalationPublic"]["properties"]
    assert escalation["to_level"] == {"$ref": SCHEMAS + "EscalationLevel"}
    assert {"$ref": SCHEMAS + "EscalationLevel"} in escalation["from_level"]["anyOf"]
    problem = schemas["Problem"]["properties"]
    assert role in problem["waiting_on"]["anyOf"]
    assert problem["allowed_roles"]["items"] == role
    assert problem["role"]["$ref"] == role["$ref"]
    for name in ("IncidentPublic", "IncidentSummary", "Task", "OrderDraftPublic"):
        stage = schemas[name]["properties"]["stage"]
        assert "enum" not in json.dumps(stage), name
        for value in stages:
            assert f"`{value}`" in stage["description"], (name, value)
        assert set(stage["examples"]) <= stages
    step_codes = [
        ("IncidentPublic", "current_step_code"),
        ("Task", "step_code"),
        ("AuditEventPublic", "step_code"),
        ("RunTiming", "step_code"),
        ("Breach", "step_code"),
    ]
    for name, member in step_codes:
        code = schemas[name]["properties"][member]
        assert "enum" not in json.dumps(code), name
        assert all(f"`{value}`" in code["description"] for value in codes), name
        assert set(code["examples"]) <= codes, name


def test_refusals_naming_roles_validate_against_the_problem_schema(document, flow, client):
    """The roles a 403 and a 409 name are values of the Role enum the Problem declares."""
    errors = _answer_errors(document)
    flow.create()
    orders = "/api/v1/incidents/{incident_id}/orders"
    url = f"/api/v1/incidents/{flow.incident_id}/orders"
    body = {**WALIKOTA_ORDER, "number": f"WK/{flow.incident_id[:8]}"}
    refused = client.post(url, json=body, headers=flow.as_("kasi"))
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"] == TYPE_BASE + "insufficient-scope"
    assert refused.json()["allowed_roles"] == ["camat"]
    assert errors("post", orders, 403, refused.json(), PROBLEM_JSON) == []
    flow.step1()
    again = client.post(url, json=body, headers=flow.as_("camat"))
    assert again.status_code == 409, again.text
    assert again.json()["type"] == TYPE_BASE + "wrong-step"
    assert again.json()["waiting_on"] == "kasi_trantib"
    assert errors("post", orders, 409, again.json(), PROBLEM_JSON) == []


# Lists of records under one resource, and the member that held them before `items`.
SUB_COLLECTIONS = {
    "TaskList": None,
    "AuditTrail": "events",
    "DraftVersionList": "versions",
    "DelegationAudit": "events",
}


def test_sub_collections_share_one_envelope_shape(document):
    """A task list had `items`, a draft's versions `versions`, an audit trail `events`: each
    now answers `items`, keeping the older member (deprecated) for the clients that read it."""
    schemas = document["components"]["schemas"]
    for name, older in SUB_COLLECTIONS.items():
        schema = schemas[name]
        assert "items" in schema["required"], name
        assert schema["properties"]["items"]["type"] == "array", name
        if older is not None:
            assert schema["properties"][older]["deprecated"] is True, name
            assert schema["properties"][older]["items"] == schema["properties"]["items"]["items"]
            assert older in schema["required"], name


def test_sub_collections_answer_items_beside_the_older_member(flow, client):
    flow.run_to(5)
    incident = f"/api/v1/incidents/{flow.incident_id}"
    trail = client.get(f"{incident}/events", headers=flow.as_("camat")).json()
    versions = client.get(f"/api/v1/drafts/{flow.draft_id}/versions", headers=flow.as_("camat"))
    tasks = client.get("/api/v1/tasks", headers=flow.as_("camat")).json()
    assert trail["items"] == trail["events"] and len(trail["items"]) >= 4
    assert versions.json()["items"] == versions.json()["versions"]
    assert [v["number"] for v in versions.json()["items"]] == [1]
    assert flow.incident_id in [t["incident_id"] for t in tasks["items"]]


def _enums(node: Any, where: str, found: dict[tuple[str, ...], list[str]]) -> None:
    if isinstance(node, dict):
        if len(node.get("enum", ())) > 1:
            found.setdefault(tuple(sorted(map(str, node["enum"]))), []).append(where)
        for key, value in node.items():
            _enums(value, f"{where}/{key}", found)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _enums(value, f"{where}[{index}]", found)


def test_each_set_of_values_is_one_named_enum(document):
    """An enum written inline becomes a class per field in generated clients (ClientCreate-
    ScopesItem beside ClientUpdateScopesType0Item): a set used twice is a component, and
    fields refer to it."""
    found: dict[tuple[str, ...], list[str]] = {}
    _enums(document, "", found)
    repeated = {
        values: places
        for values, places in found.items()
        if len(places) > 1 or not places[0].startswith("/components/schemas/")
    }
    named = {
        values: [p for p in places if p.count("/") != 3] for values, places in repeated.items()
    }
    # An inline enum is allowed only where it is the one use of its values in a response body.
    assert {values: places for values, places in named.items() if places} == {}


def test_page_envelopes_share_one_naming_scheme(document):
    """Generated clients had UserPublicPage-like Page_UserPublic_ beside IncidentPage."""
    envelopes = [
        name
        for name, schema in document["components"]["schemas"].items()
        if {"items", "total", "limit", "offset"} <= set(schema.get("properties", {}))
    ]
    assert len(envelopes) >= 6
    assert [name for name in envelopes if not re.fullmatch(r"[A-Z][A-Za-z]*Page", name)] == []
