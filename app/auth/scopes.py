"""Scopes: one per resource and action, as `resource:action`."""

from enum import StrEnum


class Scope(StrEnum):
    incidents_read = "incidents:read"
    incidents_write = "incidents:write"
    incidents_cancel = "incidents:cancel"
    orders_read = "orders:read"
    orders_command = "orders:command"
    orders_validate = "orders:validate"
    orders_dispatch = "orders:dispatch"
    instructions_write = "instructions:write"
    drafts_read = "drafts:read"
    drafts_write = "drafts:write"
    verifications_read = "verifications:read"
    verifications_review = "verifications:review"
    verifications_paraf = "verifications:paraf"
    verifications_verify = "verifications:verify"
    briefings_write = "briefings:write"
    field_reports_read = "field-reports:read"
    field_reports_write = "field-reports:write"
    field_work_close = "field-work:close"
    archive_read = "archive:read"
    archive_write = "archive:write"
    sla_read = "sla:read"
    tasks_read = "tasks:read"
    units_read = "units:read"
    units_admin = "units:admin"
    users_admin = "users:admin"
    calendar_admin = "calendar:admin"
    webhooks_admin = "webhooks:admin"
    clients_admin = "clients:admin"
    delegations_admin = "delegations:admin"
    delegations_write = "delegations:write"
    notifications_read = "notifications:read"
    notifications_write = "notifications:write"


SCOPE_DESCRIPTIONS: dict[str, str] = {
    Scope.incidents_read: "Read incidents, their events and timeline",
    Scope.incidents_write: "Register incidents, change their escalation level, record step work",
    Scope.incidents_cancel: "Cancel an incident before field work",
    Scope.orders_read: "Read orders (Surat Perintah)",
    Scope.orders_command: "Record the Surat Perintah Walikota and order Kasi Trantib",
    Scope.orders_validate: "Validate the verified draft into the Surat Perintah",
    Scope.orders_dispatch: "Give the execution order to the Danru",
    Scope.instructions_write: "Instruct the Danru to prepare the plan",
    Scope.drafts_read: "Read drafts and their versions",
    Scope.drafts_write: "Write and submit drafts",
    Scope.verifications_read: "Read verification decisions",
    Scope.verifications_review: "Kasi Trantib review",
    Scope.verifications_paraf: "Sekcam paraf",
    Scope.verifications_verify: "Camat verification and paraf",
    Scope.briefings_write: "Brief the members",
    Scope.field_reports_read: "Read field reports and attachments",
    Scope.field_reports_write: "Submit field reports",
    Scope.field_work_close: "Close field work early",
    Scope.archive_read: "Read archive records",
    Scope.archive_write: "Archive the report",
    Scope.sla_read: "Read step timing and SLA reports",
    Scope.tasks_read: "Read one's own task inbox",
    Scope.units_read: "Read the kecamatan list, and the staff of one's own kecamatan",
    Scope.units_admin: "Maintain each kecamatan's kop surat",
    Scope.users_admin: "Administer users",
    Scope.calendar_admin: "Maintain the non-working-day calendar",
    Scope.webhooks_admin: "Manage webhook subscriptions and replay deliveries",
    Scope.clients_admin: "Register service clients (city systems) and rotate their secrets",
    Scope.delegations_admin: "Record and revoke Plh and Plt appointments for any post",
    Scope.delegations_write: "Name a Plh for one's own post while away, and end it",
    Scope.notifications_read: "Read one's own notifications and hold the live stream",
    Scope.notifications_write: "Mark one's own notifications read; choose what goes to push",
}
