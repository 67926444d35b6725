"""Every table of the service, imported so that metadata (and Alembic) sees them all."""

from app.archive.models import ArchiveRecord
from app.audit.models import AuditEvent
from app.auth.models import LoginThrottle, RefreshToken, RevokedToken
from app.clients.models import ServiceClient
from app.core.counters import Counter
from app.delegations.models import Delegation, DelegationEvent
from app.documents.models import IssuedDocument, Letterhead, SignedCopy
from app.drafts.models import Draft, DraftVersion
from app.field_reports.models import Attachment, FieldReport
from app.idempotency.models import IdempotencyRecord
from app.incidents.models import (
    Briefing,
    EscalationChange,
    Incident,
    IncidentAssignment,
    Instruction,
)
from app.notifications.models import Notification, NotificationSettings, TaskNotice
from app.orders.models import Order
from app.outbox.models import OutboxEvent
from app.push.models import PushCursor, PushDelivery, PushSubscription
from app.step_records.models import StepRecord
from app.timing.calendar_models import NonWorkingDay
from app.timing.models import StepRun
from app.units.models import Unit
from app.users.models import User
from app.verifications.models import Verification
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "ArchiveRecord",
    "Attachment",
    "AuditEvent",
    "Briefing",
    "Counter",
    "Delegation",
    "DelegationEvent",
    "Draft",
    "DraftVersion",
    "EscalationChange",
    "FieldReport",
    "IdempotencyRecord",
    "Incident",
    "IncidentAssignment",
    "IssuedDocument",
    "Instruction",
    "Letterhead",
    "LoginThrottle",
    "NonWorkingDay",
    "Notification",
    "NotificationSettings",
    "Order",
    "OutboxEvent",
    "PushCursor",
    "PushDelivery",
    "PushSubscription",
    "RefreshToken",
    "RevokedToken",
    "ServiceClient",
    "SignedCopy",
    "StepRecord",
    "StepRun",
    "TaskNotice",
    "Unit",
    "User",
    "Verification",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
]
