"""Every /api/v1 router, in the order they appear in the OpenAPI document."""

from fastapi import APIRouter

from app.archive.router import router as archive_router
from app.auth.router import router as auth_router
from app.briefings.router import router as briefings_router
from app.clients.router import router as clients_router
from app.delegations.router import router as delegations_router
from app.documents.router import router as documents_router
from app.drafts.router import router as drafts_router
from app.field_reports.router import router as field_reports_router
from app.incidents.router import router as incidents_router
from app.instructions.router import router as instructions_router
from app.notifications.router import router as notifications_router
from app.notifications.router import settings_router as notification_settings_router
from app.notifications.router import stream_router
from app.orders.router import router as orders_router
from app.push.router import router as push_router
from app.sop.router import router as sop_router
from app.step_records.router import router as step_records_router
from app.timing.router import router as timing_router
from app.units.router import router as units_router
from app.users.router import router as users_router
from app.verifications.router import router as verifications_router
from app.webhooks.router import router as webhooks_router

API_ROUTERS: list[APIRouter] = [
    auth_router,
    users_router,
    units_router,
    delegations_router,
    sop_router,
    incidents_router,
    orders_router,
    instructions_router,
    step_records_router,
    drafts_router,
    verifications_router,
    briefings_router,
    field_reports_router,
    archive_router,
    documents_router,
    timing_router,
    notifications_router,
    notification_settings_router,
    stream_router,
    webhooks_router,
    push_router,
    clients_router,
]
