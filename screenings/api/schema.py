"""The API's OpenAPI schema: drf-spectacular's, plus the error answers every operation can give.

Without them a client (or schemathesis) reads a 404 for someone else's screening, a 400 for a
refused field or a 429 past the rate as answers the API never promised. Each is documented with
its body: ``{"detail": ...}``, or for a 400 each refused field with its reasons.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent

from screenings.api.serializers import StimulusField

JSON = ["application/json"]

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string", "description": "What went wrong, in words."}},
    "required": ["detail"],
}
VALIDATION_ERRORS = {
    "type": "object",
    "description": "Each refused field's name with the reasons it was refused (a nested field's by position or "
    "name); `non_field_errors` or `detail` for a rule about the request as a whole.",
    "additionalProperties": {
        "oneOf": [
            {"type": "array", "items": {}},
            {"type": "object"},
            {"type": "string"},
        ]
    },
}
CONFLICT = {
    "type": "object",
    "description": "Collected data protects what was asked: `detail` says why, further fields say per field, or "
    "what a deletion would destroy and how to confirm it.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
    "additionalProperties": True,
}

# Status code: (component name, schema, description).
ERRORS: dict[str, tuple[str, dict[str, Any], str]] = {
    "400": ("ValidationErrors", VALIDATION_ERRORS, "The request was refused: a field or a rule is broken."),
    "401": ("ErrorDetail", DETAIL, "No valid token or session."),
    "403": ("ErrorDetail", DETAIL, "Not an organizer (an active staff user)."),
    "404": ("ErrorDetail", DETAIL, "No such object among the organizer's own or shared ones, or no such page."),
    "409": ("Conflict", CONFLICT, "Collected data would be changed or destroyed."),
    "415": ("ErrorDetail", DETAIL, "The body is not JSON, a form or a well-formed multipart upload."),
    "429": ("ErrorDetail", DETAIL, "Too many requests: the organizer's rate (API_RATE, API_INVITE_RATE) is spent."),
}
WRITES = {"POST", "PUT", "PATCH"}


class OrganizerAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, with the error responses added where an operation can give them."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            name, schema, description = ERRORS[code]
            documented = responses.setdefault(code, {"description": description})
            # An error documented by the view without a body gets the body it has.
            documented.setdefault("content", {media: {"schema": self._component(name, schema)} for media in JSON})
            documented["description"] = documented.get("description") or description
        return responses

    def _insert_field_validators(self, field: Any, schema: dict[str, Any]) -> None:
        # The stimulus's extension rule is a pattern on its file name, not on the bytes uploaded or the
        # address read back; its help text states it.
        if isinstance(field, StimulusField):
            return
        super()._insert_field_validators(field, schema)

    def _error_codes(self) -> list[str]:
        codes = ["401", "403", "429"]
        if self._can_be_refused():
            codes.append("400")
        if self.method in WRITES:
            codes.append("415")
        if "{" in self.path or self._is_list_view() or getattr(self.view, "names_objects_in_query", False):
            # An id that is not the organizer's (in the path or the query), or a page past the last one.
            codes.append("404")
        if self.method in {"PUT", "PATCH", "DELETE"}:
            codes.append("409")
        return codes

    def _can_be_refused(self) -> bool:
        if self.method in WRITES:
            return True
        return any(
            parameter.get("in") == "query" for parameter in self._get_parameters() if parameter["name"] != "page"
        )

    def _component(self, name: str, schema: dict[str, Any]) -> dict[str, str]:
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name)
        self.registry.register_on_missing(component)
        return component.ref


class StimulusFieldExtension(OpenApiSerializerFieldExtension):
    """The stimulus is uploaded as a file and read back as the organizers' address for it."""

    target_class = StimulusField

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Any) -> dict[str, Any]:
        if direction == "request":
            return {"type": "string", "format": "binary"}
        return {"type": "string", "format": "uri"}
