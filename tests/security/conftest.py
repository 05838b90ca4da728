"""Every designer address, built from the URL configuration so new views are covered at once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from designer.models import Topology
from tests.builders import make_document, node

# Values for the URL parameters the designer uses; unknown ones get a plausible default.
STRING_DEFAULTS = {"fmt": "json", "format": "json", "node_id": "orders", "kind": "queue"}
PAYLOADS = (
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "</text><svg><image xlink:href=x onerror=alert(1)>",
    "javascript:alert(1)",
    "{{ ''.__class__ }}",
)


@dataclass(frozen=True)
class Address:
    name: str
    path: str


def _patterns(
    resolvers: list[URLPattern | URLResolver], namespace: str = ""
) -> Iterator[tuple[str, URLPattern]]:
    for entry in resolvers:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}" if entry.namespace else namespace
            yield from _patterns(entry.url_patterns, inner.strip(":"))
        elif entry.name:
            yield namespace, entry


def designer_addresses(topology: Topology, other_user: Any) -> list[Address]:
    """One concrete path per named designer URL, filled with ``topology``'s ids."""
    found: list[Address] = []
    for namespace, pattern in _patterns(get_resolver().url_patterns):
        if namespace != "designer":
            continue
        converters = getattr(pattern.pattern, "converters", {})
        kwargs: dict[str, Any] = {}
        for name, converter in converters.items():
            if name in ("pk", "topology_id"):
                kwargs[name] = topology.pk
            elif name == "user_id":
                kwargs[name] = other_user.pk
            elif converter.regex == "[0-9]+":
                kwargs[name] = 1
            else:
                kwargs[name] = STRING_DEFAULTS.get(name, "x")
        try:
            path = reverse(f"designer:{pattern.name}", kwargs=kwargs)
        except NoReverseMatch:
            continue
        found.append(Address(pattern.name or "", path))
    return found


def labelled_document(label: str = PAYLOADS[0]) -> dict[str, Any]:
    return make_document(
        name=label,
        description=label,
        nodes=[node("orders", "queue", label=label), node("sink", "log", label=PAYLOADS[1])],
        edges=[],
    )


@pytest.fixture
def owned(alice: Any) -> Topology:
    return Topology.create_from_document(alice, labelled_document())


def is_html(response: Any) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


@pytest.fixture
def make_engine() -> Any:
    """A gateway test engine (see tests/hosting/gateway/conftest.py) built from routes."""
    from runtime.spec import load
    from tests.hosting.gateway.conftest import FakeEngine, api_document

    def build(routes: list[dict[str, Any]], **config: Any) -> FakeEngine:
        return FakeEngine(load(api_document(routes, **config)))

    return build


from tests.hosting.gateway.live import gateway_server  # noqa: E402, F401  (the live-server fixture)
