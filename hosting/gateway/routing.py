"""Route matching with API Gateway's precedence (spec §7.2).

A literal segment beats ``{param}``, which beats a final greedy ``{proxy+}``; an explicit method
beats ``ANY``. REST APIs pick the most specific *resource* first and answer 403 when it lacks the
method; HTTP APIs take the most specific route that has the method, then ``$default``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

_PARAM = re.compile(r"\{([A-Za-z0-9._-]+)\}")
_GREEDY = re.compile(r"\{([A-Za-z0-9._-]+)\+\}")

LITERAL, PARAM, GREEDY = 0, 1, 2


@dataclass(frozen=True)
class Segment:
    kind: int
    text: str  # the literal text, or the parameter name


@dataclass(frozen=True)
class Route:
    """One configured route: ``method`` and ``path`` as written, plus its settings."""

    index: int
    method: str
    path: str
    segments: tuple[Segment, ...]
    integration: Mapping[str, Any]
    request_schema: Mapping[str, Any] | None = None
    api_key_required: bool = False
    # ("querystring" | "header" | "path", name): what the request must carry (spec §7.5).
    required_parameters: tuple[tuple[str, str], ...] = ()
    # Method-level throttling (spec §7.4 scope 3): (rate, burst), or None for the stage's only.
    throttle: tuple[float, int] | None = None

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class Match:
    route: Route
    path_parameters: Mapping[str, str] = field(default_factory=dict)


def parse_segments(path: str) -> tuple[Segment, ...]:
    if path in ("/", "$default"):
        return ()
    segments = []
    for part in path.strip("/").split("/"):
        greedy = _GREEDY.fullmatch(part)
        param = _PARAM.fullmatch(part)
        if greedy:
            segments.append(Segment(GREEDY, greedy.group(1)))
        elif param:
            segments.append(Segment(PARAM, param.group(1)))
        else:
            segments.append(Segment(LITERAL, part))
    return tuple(segments)


def parse_parameter(declared: str) -> tuple[str, str]:
    """``"querystring.page"`` → ``("querystring", "page")``; header names are lower-cased."""
    location, _, name = declared.partition(".")
    return location, name.lower() if location == "header" else name


def _throttle(setting: Any) -> tuple[float, int] | None:
    if not isinstance(setting, Mapping):
        return None
    return float(setting.get("rate", 0)), int(setting.get("burst", 0))


def split_path(path: str) -> list[str]:
    """Request path → decoded segments; empty segments (``//``) are dropped as API Gateway does."""
    return [unquote(part) for part in path.split("/") if part]


class Router:
    """Compiled routes of one API; ``match`` returns the route or None (an unknown route)."""

    def __init__(self, routes: Sequence[Mapping[str, Any]], api_type: str = "REST") -> None:
        self.api_type = api_type
        self.routes = [self._compile(index, route) for index, route in enumerate(routes)]
        self.default = next((r for r in self.routes if r.path == "$default"), None)
        # One resource (path shape) holds the methods defined on it.
        self._resources: dict[tuple[Segment, ...], dict[str, Route]] = {}
        for route in self.routes:
            if route.path != "$default":
                self._resources.setdefault(route.segments, {})[route.method] = route

    @staticmethod
    def _compile(index: int, route: Mapping[str, Any]) -> Route:
        return Route(
            index=index,
            method=str(route.get("method", "ANY")).upper(),
            path=str(route.get("path", "/")),
            segments=parse_segments(str(route.get("path", "/"))),
            integration=route.get("integration") or {},
            request_schema=route.get("request_schema"),
            api_key_required=bool(route.get("api_key_required", False)),
            required_parameters=tuple(
                parse_parameter(str(item)) for item in route.get("required_parameters") or ()
            ),
            throttle=_throttle(route.get("throttle")),
        )

    def match(self, method: str, path: str) -> Match | None:
        parts = split_path(path)
        method = method.upper()
        candidates = sorted(self._candidates(parts), key=lambda found: found[0])
        if self.api_type == "REST":
            # The most specific resource decides; a missing method is an unknown route (403).
            if not candidates:
                return None
            _, shape, params = candidates[0]
            route = self._method(shape, method)
            return Match(route, params) if route else None
        for _, shape, params in candidates:
            route = self._method(shape, method)
            if route:
                return Match(route, params)
        return Match(self.default, {}) if self.default else None

    def resource_exists(self, path: str) -> bool:
        return any(True for _ in self._candidates(split_path(path)))

    def methods_at(self, path: str) -> list[str]:
        """Methods defined on the most specific resource for ``path`` (CORS preflight answers)."""
        candidates = sorted(self._candidates(split_path(path)), key=lambda found: found[0])
        return sorted(self._resources[candidates[0][1]]) if candidates else []

    def _method(self, shape: tuple[Segment, ...], method: str) -> Route | None:
        methods = self._resources[shape]
        return methods.get(method) or methods.get("ANY")

    def _candidates(
        self, parts: list[str]
    ) -> Iterator[tuple[tuple[int, ...], tuple[Segment, ...], dict[str, str]]]:
        for shape in self._resources:
            params = _bind(shape, parts)
            if params is not None:
                # Earlier segments weigh more: /pets/mine beats /{kind}/mine.
                yield tuple(segment.kind for segment in shape) + (9,), shape, params


def _bind(shape: tuple[Segment, ...], parts: list[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for position, segment in enumerate(shape):
        if segment.kind == GREEDY:
            rest = parts[position:]
            if not rest:
                return None  # {proxy+} needs at least one segment
            params[segment.text] = "/".join(rest)
            return params
        if position >= len(parts):
            return None
        if segment.kind == LITERAL:
            if parts[position] != segment.text:
                return None
        else:
            params[segment.text] = parts[position]
    return params if len(parts) == len(shape) else None
