"""``{% run_toolbar %}`` and ``{% live_drawer %}``: the live runtime's partials on any page that
has a ``topology`` in its context, so the editor includes them without knowing their data."""

from __future__ import annotations

from typing import Any

from django import template

from designer.run_views import toolbar_context

register = template.Library()


@register.inclusion_tag("designer/_run_toolbar.html", takes_context=True)
def run_toolbar(context: template.Context) -> dict[str, Any]:
    request = context["request"]
    return {**toolbar_context(context["topology"], request.user), "request": request}


@register.inclusion_tag("designer/_live_drawer.html", takes_context=True)
def live_drawer(context: template.Context) -> dict[str, Any]:
    return {"topology": context["topology"], "request": context["request"]}
