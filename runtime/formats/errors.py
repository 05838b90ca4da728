"""Errors of export and import, written for the person who asked for them."""

from __future__ import annotations


class FormatError(ValueError):
    """A file cannot be imported, or a topology exported, as asked; the message says why."""


class UnsupportedResources(FormatError):
    """A template holds resources Flowyard does not model; each one is named."""

    def __init__(self, resources: list[tuple[str, str]]) -> None:
        self.resources = resources
        listed = ", ".join(f"{name} ({kind})" for name, kind in resources)
        super().__init__(
            f"{len(resources)} unsupported resource(s): {listed}. Import the rest only if you "
            "agree to leave these out (--skip-unsupported, or tick the box)."
        )


class RasteriserMissing(FormatError):
    """No PNG rasteriser is installed on this machine."""
