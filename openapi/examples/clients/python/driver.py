"""A city system's first incident, with the client openapi-python-client generates.

    openapi-python-client generate --path openapi/openapi.json \
        --config openapi/openapi-python-client.yaml
    TRANTIB_URL=http://127.0.0.1:8000 TRANTIB_ATTACHMENT_ID=... python driver.py

Logs in as the Kasi Trantib of Ciledug, registers an incident, takes step 1 as the Camat with
If-Match and an Idempotency-Key (reading the recorded order's typed content), reads the 409 a second step 1 gets, downloads an attachment
as bytes and reads the SLA summary as CSV. Only the generated package is used: no cast, no
hand-written HTTP.
"""

from __future__ import annotations

import datetime
import os
import uuid

from trantib_sop_client import AuthenticatedClient, Client
from trantib_sop_client.api.auth import auth_token
from trantib_sop_client.api.field_reports import attachments_content
from trantib_sop_client.api.incidents import incidents_create
from trantib_sop_client.api.orders import orders_create
from trantib_sop_client.api.timing import sla_summary_csv
from trantib_sop_client.models import (
    IncidentCreate,
    IncidentKind,
    IncidentPublic,
    Location,
    PoliceCoordination,
    Problem,
    TokenForm,
    TokenResponse,
    WalikotaOrderAnswer,
    WalikotaOrderCreate,
)
from trantib_sop_client.types import File

BASE_URL = os.environ.get("TRANTIB_URL", "http://127.0.0.1:8000")
PASSWORD = os.environ.get("TRANTIB_DEMO_PASSWORD", "trantib-demo")


def login(username: str) -> AuthenticatedClient:
    """POST /api/v1/auth/token, form encoded, with the password grant."""
    form = TokenForm(grant_type="password", username=username, password=PASSWORD)
    tokens = auth_token.sync(client=Client(base_url=BASE_URL), body=form)
    if not isinstance(tokens, TokenResponse):
        raise SystemExit(f"login {username} refused: {tokens}")
    # The generated client sends "Authorization: Bearer <token>" (its prefix by default).
    return AuthenticatedClient(base_url=BASE_URL, token=tokens.access_token)


def walikota_order(number: str) -> WalikotaOrderCreate:
    now = datetime.datetime.now(datetime.UTC)
    return WalikotaOrderCreate(
        kind="walikota",
        number=number,
        issued_on=now.date(),
        issuer="Wali Kota Tangerang",
        police_coordination=PoliceCoordination(
            officer="AKP Rahmat",
            police_unit="Polsek Ciledug",
            contacted_at=now - datetime.timedelta(minutes=30),
        ),
    )


def main() -> None:
    kasi = login("kasi.ciledug")
    registered = incidents_create.sync_detailed(
        client=kasi,
        body=IncidentCreate(
            kind=IncidentKind.UNJUK_RASA,
            title="Unjuk rasa buruh di depan kantor kecamatan",
            location=Location(address="Jl. HOS Cokroaminoto No. 1", kelurahan="Sudimara Timur"),
            estimated_crowd=250,
        ),
        idempotency_key=str(uuid.uuid4()),
    )
    incident = registered.parsed
    if not isinstance(incident, IncidentPublic):
        raise SystemExit(f"register refused: {registered.status_code} {incident}")
    etag = registered.headers["ETag"]
    print(f"registered {incident.register_number}, step {incident.current_step}, ETag {etag}")

    camat = login("camat.ciledug")
    order = walikota_order(f"WK/{incident.register_number}")
    answer = orders_create.sync(
        incident.id, client=camat, body=order, if_match=etag, idempotency_key=str(uuid.uuid4())
    )
    # An order's answer is typed by its kind: the Surat Perintah Walikota's content is the
    # letter as recorded.
    if not isinstance(answer, WalikotaOrderAnswer):
        raise SystemExit(f"step 1 refused: {answer}")
    coordination = answer.content.police_coordination
    print(f"step 1 done: order {answer.id} ({answer.content.number}, police: {coordination.police_unit}), the incident is now at step {answer.incident.current_step}")

    again = orders_create.sync(incident.id, client=camat, body=order)
    if not isinstance(again, Problem) or again.status != 409:
        raise SystemExit(f"a second step 1 was not refused with 409: {again}")
    print(f"a second step 1: {again.type_.rsplit('/', 1)[-1]}, current_step {again.current_step}")

    attachment = attachments_content.sync(
        uuid.UUID(os.environ["TRANTIB_ATTACHMENT_ID"]), client=kasi
    )
    if not isinstance(attachment, File):
        raise SystemExit(f"download refused: {attachment}")
    content = attachment.payload.read()
    print(f"attachment: {len(content)} bytes, starts {content[:5]!r}")

    csv = sla_summary_csv.sync(client=kasi)
    if not isinstance(csv, str):
        raise SystemExit(f"SLA summary refused: {csv}")
    print(f"SLA summary CSV: {csv.splitlines()[0]}")


if __name__ == "__main__":
    main()
