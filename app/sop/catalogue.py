"""The action catalogue: the kinds of action the API offers, whatever SOP version runs.

Which step uses which action, who takes it with which scope, and what it produces are data of
each SOP definition (app/sop/definitions/*.toml); only the kinds live here, with what each
kind does by its nature (which assignment it makes, which draft it works on).
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    order_walikota = "order_walikota"
    instruct = "instruct"
    step_record = "step_record"
    draft_create = "draft_create"
    draft_update = "draft_update"
    draft_submit = "draft_submit"
    verify = "verify"
    order_validate = "order_validate"
    order_dispatch = "order_dispatch"
    briefing = "briefing"
    field_report = "field_report"
    field_work_close = "field_work_close"
    archive = "archive"
    cancel = "cancel"
    escalate = "escalate"


# Actions on the incident as a whole, allowed over a range of steps (the definition's
# `incident_actions`); every other action belongs to the step whose rules name it.
INCIDENT_ACTIONS = frozenset({Action.cancel, Action.escalate})
# Actions that write a draft of the step's `draft` kind, and the one that verifies it.
DRAFT_ACTIONS = frozenset({Action.draft_create, Action.draft_update, Action.draft_submit})
VERIFY_ACTIONS = frozenset({Action.verify})


class Assignment(StrEnum):
    """Who, within the role, may act: the person an earlier action named."""

    instructed_danru = "instructed_danru"  # named by the action `instruct`
    dispatched_danru = "dispatched_danru"  # named by the action `order_dispatch`
    briefed_member = "briefed_member"  # named in the action `briefing`


# The action that names the people of each assignment: a rule narrowed by an assignment
# needs that action to have completed an earlier step.
ASSIGNED_BY = {
    Assignment.instructed_danru: Action.instruct,
    Assignment.dispatched_danru: Action.order_dispatch,
    Assignment.briefed_member: Action.briefing,
}


class DocumentKind(StrEnum):
    """What a step produces (the SOP's Output column, as the service keeps it)."""

    order_walikota = "order_walikota"
    instruction = "instruction"
    step_record = "step_record"
    order_draft = "order_draft"
    surat_perintah = "surat_perintah"
    briefing = "briefing"
    field_report = "field_report"
    report_draft = "report_draft"
    report = "report"
    archive_record = "archive_record"
