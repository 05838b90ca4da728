"""CORS as an API Gateway HTTP API answers it (spec §7.8).

The gateway answers preflight requests itself and adds ``Access-Control-Allow-Origin`` to
integration responses. Responses the gateway makes itself (403, 429, 504...) get none, as on AWS,
which is why a browser reports a "CORS error" for what is really a throttled request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_AGE = "300"


@dataclass(frozen=True)
class CorsPolicy:
    origins: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> CorsPolicy:
        return cls(
            tuple(settings.get("cors_allow_origins") or ()),
            tuple(m.upper() for m in settings.get("cors_allow_methods") or ()),
            tuple(h.lower() for h in settings.get("cors_allow_headers") or ()),
        )

    @property
    def enabled(self) -> bool:
        return bool(self.origins)

    def allowed_origin(self, origin: str) -> str | None:
        """The Access-Control-Allow-Origin value for this request's Origin, or None."""
        if not origin or not self.enabled:
            return None
        if "*" in self.origins:
            return "*"
        return origin if origin in self.origins else None

    def is_preflight(self, method: str, headers: Mapping[str, str]) -> bool:
        return (
            self.enabled
            and method == "OPTIONS"
            and bool(headers.get("origin"))
            and bool(headers.get("access-control-request-method"))
        )

    def preflight_headers(
        self, headers: Mapping[str, str], methods: Sequence[str]
    ) -> dict[str, str]:
        """Headers answering a preflight; empty when the origin or method is not allowed."""
        origin = self.allowed_origin(headers.get("origin", ""))
        wanted = headers.get("access-control-request-method", "").upper()
        allowed_methods = self.methods or tuple(methods)
        if origin is None or not (
            "*" in allowed_methods or wanted in allowed_methods or "ANY" in allowed_methods
        ):
            return {}
        answer = {
            "access-control-allow-origin": origin,
            "access-control-allow-methods": ", ".join(allowed_methods),
            "access-control-max-age": MAX_AGE,
        }
        if self.headers:
            answer["access-control-allow-headers"] = ", ".join(self.headers)
        if origin != "*":
            answer["vary"] = "Origin"
        return answer

    def response_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        origin = self.allowed_origin(headers.get("origin", ""))
        if origin is None:
            return {}
        answer = {"access-control-allow-origin": origin}
        if origin != "*":
            answer["vary"] = "Origin"
        return answer
