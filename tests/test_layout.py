"""Meta-tests: the runtime core stays free of Django, and tests mirror the modules they test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from runtime.nodes import KINDS

ROOT = Path(__file__).resolve().parent.parent
CORE_MODULES = ["spec", "graph", "engine", "clock", "patterns"]


def core_module_names() -> list[str]:
    """Every module of the runtime package: all of ``runtime/`` is the pure core."""
    names = []
    for path in sorted((ROOT / "runtime").rglob("*.py")):
        dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        names.append(dotted.removesuffix(".__init__"))
    return names


def test_the_runtime_core_imports_no_django_channels_or_designer() -> None:
    modules = core_module_names()
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "leaks = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'channels', 'daphne', 'designer', 'hosting'})\n"
        "print(','.join(leaks))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "", f"the core pulled in: {result.stdout.strip()}"
    assert "runtime.spec" in modules and "runtime.nodes.queue" in modules
    assert "runtime.formats.cloudformation" in modules and "runtime.store.redis" in modules


def test_every_kind_has_its_own_module_and_test() -> None:
    for name, kind in KINDS.items():
        assert kind.__module__ == f"runtime.nodes.{name}"
        assert (ROOT / f"tests/runtime/nodes/test_{name}.py").exists(), f"no test for {name}"


def test_every_core_module_has_a_mirrored_test() -> None:
    missing = [
        name
        for name in CORE_MODULES
        if (ROOT / f"runtime/{name}.py").exists()
        and not (ROOT / f"tests/runtime/test_{name}.py").exists()
    ]
    assert missing == [], f"core modules without tests/runtime/test_<name>.py: {missing}"
