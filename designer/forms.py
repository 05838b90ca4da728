"""The inspector's forms, built from a node kind's config schema (``runtime.nodes.base.Field``).

``ConfigForm`` turns the posted fields into a config dict holding only the values that differ
from the kind's defaults. It is validated in two passes: ``Kind.check_config`` (types, limits,
cross-field rules: a config failing these cannot be saved) and the deep ``semantic_checks``
(patterns, filter policies, ASL, templates: saved anyway, shown as lint errors). Both passes put
their messages beside the field they concern.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms

from runtime import spec as topology_spec
from runtime.nodes import KINDS
from runtime.nodes.base import Field, Kind

TARGETS = ("node", "edge")
PREFIX = "cfg"


class JsonText(forms.CharField):
    """A JSON value typed as text; blank means "use the default"."""

    widget = forms.Textarea

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strip=False, required=False, **kwargs)

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        if value is None:
            return ""
        return json.dumps(value, indent=2, ensure_ascii=False)

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if not text.strip():
            return EMPTY
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                f"not JSON: {error.msg} at line {error.lineno}, column {error.colno}"
            ) from None


class _Empty:
    def __repr__(self) -> str:
        return "EMPTY"


EMPTY: Any = _Empty()


def form_field(field: Field) -> forms.Field:
    """The Django form field for one schema field; limits are checked by the kind itself."""
    attrs: dict[str, Any] = {}
    made: forms.Field
    if field.type == "int":
        made = forms.IntegerField(required=False)
        attrs.update(step=1)
    elif field.type == "float":
        made = forms.FloatField(required=False)
        attrs.update(step="any")
    elif field.type == "bool":
        made = forms.BooleanField(required=False)
    elif field.type == "choice":
        made = forms.ChoiceField(choices=[(choice, choice) for choice in field.choices])
    elif field.type == "text":
        textarea = forms.Textarea(attrs={"rows": 3})
        made = forms.CharField(required=False, strip=False, widget=textarea)
    elif field.type in ("json", "list"):
        made = JsonText(widget=forms.Textarea(attrs={"rows": 6 if field.editor else 3}))
        attrs["spellcheck"] = "false"
        attrs["data-json-editor"] = field.editor or field.type
    else:  # str, node
        made = forms.CharField(required=False)
        if field.max_length:
            attrs["maxlength"] = field.max_length
        if field.type == "node":
            attrs["list"] = "node-ids"
    if field.type in ("int", "float"):
        if field.minimum is not None:
            attrs["min"] = field.minimum
        if field.maximum is not None:
            attrs["max"] = field.maximum
    made.widget.attrs.update(attrs)
    made.label = field.title
    made.help_text = field.help
    made.schema = field  # type: ignore[attr-defined]
    return made


class ConfigForm(forms.Form):
    """The inspector form of one node (its kind's fields) or edge (its source kind's fields)."""

    label = forms.CharField(required=False, max_length=topology_spec.MAX_LABEL)

    def __init__(
        self,
        kind: type[Kind],
        target: str,
        data: Any = None,
        *,
        label: str = "",
        config: dict[str, Any] | None = None,
        check_url: str = "",
    ) -> None:
        self.kind = kind
        self.target = target
        self.schema: tuple[Field, ...] = kind.fields if target == "node" else kind.edge_fields
        initial: dict[str, Any] = {"label": label}
        merged = {field.name: field.default for field in self.schema}
        merged.update(config or {})
        for field in self.schema:
            initial[field.name] = merged[field.name]
        super().__init__(data, initial=initial, prefix=None, auto_id="insp-%s")
        for field in self.schema:
            self.fields[field.name] = made = form_field(field)
            if check_url and field.type in ("json", "list"):
                # Checked on the server as you type (debounced), answer shown beside the field.
                made.widget.attrs.update(
                    {
                        "hx-post": check_url,
                        "hx-trigger": "input changed delay:400ms",
                        "hx-target": f"#check-{field.name}",
                        "hx-swap": "innerHTML",
                        "hx-vals": json.dumps({"_field": field.name}),
                        "aria-describedby": f"check-{field.name}",
                    }
                )
        self.config: dict[str, Any] = {}
        self.applicable = False  # True when the config passes check_config and may be saved
        self.semantic_errors: set[str] = set()

    def schema_fields(self) -> list[forms.BoundField]:
        return [self[field.name] for field in self.schema]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if any(name in self.errors for name in (field.name for field in self.schema)):
            return cleaned
        config: dict[str, Any] = {}
        for field in self.schema:
            value = cleaned.get(field.name)
            if value is EMPTY or (value is None and field.type in ("int", "float")):
                continue
            if value != field.default:
                config[field.name] = value
        check = self.kind.check_config if self.target == "node" else self.kind.check_edge_config
        problems = check(config)
        for pointer, message in problems:
            self._add_problem(pointer, message)
        if problems:
            return cleaned
        self.config = config
        self.applicable = True
        defaults = {field.name: field.default for field in self.schema}
        semantic = (
            self.kind.semantic_checks if self.target == "node" else self.kind.semantic_edge_checks
        )
        for pointer, message in semantic({**defaults, **config}):
            name = self._add_problem(pointer, message)
            if name:
                self.semantic_errors.add(name)
        return cleaned

    def _add_problem(self, pointer: str, message: str) -> str | None:
        """Puts a problem beside its field (the first pointer token), or on the form."""
        parts = pointer.lstrip("/").split("/", 1)
        name = parts[0]
        if name in self.fields and name != "label":
            detail = f"{parts[1]}: " if len(parts) > 1 and parts[1] else ""
            self.add_error(name, f"{detail}{message}")
            return name
        self.add_error(None, f"{pointer.lstrip('/') or 'config'}: {message}")
        return None

    def result(self) -> dict[str, Any]:
        """What the canvas applies: the label and config when they can be saved."""
        label = self.cleaned_data.get("label", "") if hasattr(self, "cleaned_data") else ""
        return {"label": label or "", "config": self.config, "ok": self.applicable}


class TopologyForm(forms.Form):
    name = forms.CharField(max_length=topology_spec.MAX_NAME)
    description = forms.CharField(
        required=False,
        max_length=topology_spec.MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "insp-%s")
        super().__init__(*args, **kwargs)


def kind_for(name: Any) -> type[Kind] | None:
    return KINDS.get(name) if isinstance(name, str) else None
