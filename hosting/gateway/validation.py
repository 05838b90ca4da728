"""Request body validation against a route's JSON Schema (draft-04, spec §7.5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft4Validator
from jsonschema.exceptions import SchemaError

MAX_REASONS = 5


class BodyValidator:
    """Compiled once per route. ``problem(body_bytes)`` is None or the validation error string.

    The validator never fetches a remote ``$ref`` (jsonschema ≥ 4.18 resolves only what the schema
    itself contains), so a schema cannot make the server open connections.
    """

    def __init__(self, schema: Mapping[str, Any]) -> None:
        try:
            Draft4Validator.check_schema(schema)
        except SchemaError as error:
            raise ValueError(f"invalid request_schema: {error.message}") from error
        self._validator = Draft4Validator(schema)

    def problem(self, body: Any) -> str | None:
        errors = sorted(self._validator.iter_errors(body), key=lambda error: list(error.path))
        if not errors:
            return None
        reasons = [_reason(error.message, list(error.path)) for error in errors[:MAX_REASONS]]
        return "[" + ", ".join(reasons) + "]"


def _reason(message: str, path: list[Any]) -> str:
    where = "/" + "/".join(str(part) for part in path) if path else ""
    # Echoed values are cut short so a huge body is not mirrored back in the error.
    text = message if len(message) <= 200 else message[:197] + "..."
    return f"{where}: {text}" if where else text
