"""Access to the shared conformance cases, which are read in place and never copied.

The folder comes from FLOWYARD_CONFORMANCE_DIR (default ../shared/conformance beside the project).
Where it is absent the tests skip with a clear message, except under CI=true, where they fail.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def conformance_dir() -> Path:
    configured = os.environ.get("FLOWYARD_CONFORMANCE_DIR")
    return Path(configured) if configured else PROJECT_ROOT.parent / "shared" / "conformance"


def load_cases(filename: str) -> list[dict[str, Any]]:
    """Every case of one JSON Lines file; skips (or fails under CI) when the file is missing."""
    path = conformance_dir() / filename
    if not path.is_file():
        message = f"conformance file {path} not found (set FLOWYARD_CONFORMANCE_DIR)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def report(title: str, passed: int, total: int, failures: dict[str, str]) -> str:
    """A pass-rate line plus each failing case by id, printed by the conformance tests."""
    rate = 100.0 * passed / total if total else 100.0
    lines = [f"{title}: {passed}/{total} passed ({rate:.1f}%)"]
    lines += [f"  FAIL {case_id}: {reason}" for case_id, reason in sorted(failures.items())]
    return "\n".join(lines)
