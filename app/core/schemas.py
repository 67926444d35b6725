"""Shared pieces of request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import core_schema

from app.core import clock
from app.core.types import check_text


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a UTC offset, e.g. 2026-11-28T19:30:00+07:00")
    try:
        return clock.as_utc(value)
    except OverflowError as exc:
        # 0001-01-01T00:00:00+23:59 is a valid timestamp with no UTC year in 1..9999.
        raise ValueError("falls outside the years 1 to 9999 in UTC") from exc


# The id in request examples that name a record an earlier answer gave: plainly one to replace.
PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000"

# A timestamp a client sends: ISO 8601 with an offset; stored and compared as UTC.
AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class RequestBody(BaseModel):
    """Base of every request body: unknown fields (status, unit, numbers…) are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _only_text(cls, value: Any) -> Any:
        """Every string of every body, however deep, holds text: no NUL, no other control
        character but tab and line breaks (one check for all fields, so none is forgotten)."""
        _check_strings(value)
        return value


def _check_strings(value: Any) -> None:
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _check_strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    # Nested bodies checked their own fields; other values hold no client text.


class ActionBody(RequestBody):
    occurred_at: AwareDatetime | None = Field(
        default=None,
        description="When this really happened in the field; defaults to now. Not in the "
        "future (2 minutes of skew allowed), nor before the step started, nor further back "
        "than the step's backdating limit (the SOP definition's `backdating`: minutes at the "
        "desk, up to a day for field reports). Both times are kept and measured.",
    )
    occurred_at_reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="Why the action is recorded late; required when occurred_at lies further "
        "back than the step's `backdating.reason_after`",
    )


class ResponseBody(BaseModel):
    """Base of every response body: a field the service always sends is required in the
    contract even when it has a default, so that generated clients type it as present."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class AsStored:
    """A JSON object answered exactly as it was stored, declared in the contract by the schema
    of `shape` (a model, or a union of models).

    Contents are hashed when written (`content_sha256`) and checked against the request's
    model then: answered through a model again they would gain nulls and defaults and lose
    what a later model no longer names, and the hash would no longer be theirs. So the value
    passes through as stored, and only its declaration is typed; tests/contract validates live
    answers against it."""

    def __init__(self, shape: Any) -> None:
        self.shape = shape

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        declared = handler.generate_schema(self.shape)
        if declared["type"] == "definition-ref":
            # Metadata keeps the model a named definition (a component) where pydantic would
            # inline a model used once.
            declared = {**declared, "metadata": {"answered_as_stored": True}}
        return core_schema.dict_schema(
            keys_schema=core_schema.str_schema(),
            metadata={"pydantic_js_annotation_functions": [lambda _c, h: h(declared)]},
            # The declared schema stays in the tree (its definitions are then generated);
            # the value is never serialized through it.
            serialization=core_schema.wrap_serializer_function_ser_schema(
                lambda value, _handler: value, schema=declared
            ),
        )


# String sets checked by a validator of their own (for its message) rather than an Enum: the
# contract declares each once, as components/schemas/<name> (app.docs adds them); written
# inline, each field using one became a class of its own in generated clients.
NAMED_ENUMS: dict[str, dict[str, Any]] = {}


def enum_reference(name: str, values: tuple[str, ...], description: str) -> WithJsonSchema:
    """The schema of a string that is one of `values`: a reference to the enum `name`. For
    list items only (pydantic resolves a field's own reference among its definitions)."""
    NAMED_ENUMS[name] = {
        "type": "string",
        "enum": list(values),
        "title": name,
        "description": description,
    }
    return WithJsonSchema({"$ref": f"#/components/schemas/{name}"})


T = TypeVar("T")


class Page(ResponseBody, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
