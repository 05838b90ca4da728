"""Real consumers for the format tests: npm packages fetched once into a cache outside the repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

MERMAID = "mermaid@11.12.2"
ASYNCAPI_SPECS = "@asyncapi/specs@6.11.1"
MAXGRAPH = "@maxgraph/core@0.24.0"  # the mxGraph codec draw.io files are written for


def cache_dir() -> Path:
    base = os.environ.get("FLOWYARD_TEST_CACHE") or Path.home() / ".cache" / "flowyard-test"
    return Path(base)


def npm_package(spec: str) -> Path:
    """The unpacked package directory of a pinned npm package, fetched with `npm pack` once."""
    target = cache_dir() / "npm" / spec.replace("/", "__")
    if (target / "package" / "package.json").exists():
        return target / "package"
    npm = shutil.which("npm")
    if npm is None:
        message = f"npm is needed to fetch {spec} for this test: install Debian nodejs and npm"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with tempfile.TemporaryDirectory() as scratch:
        result = subprocess.run(
            [npm, "pack", spec, "--silent", "--pack-destination", scratch],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"npm pack {spec} failed: {result.stderr.strip()[:500]}")
        tarball = next(Path(scratch).glob("*.tgz"))
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent))
        with tarfile.open(tarball) as archive:
            archive.extractall(staging, filter="data")
        shutil.rmtree(target, ignore_errors=True)
        # Renamed into place whole, so a parallel or interrupted run never sees half a package.
        staging.rename(target)
    return target / "package"


@pytest.fixture(scope="session")
def mermaid_script() -> Path:
    return npm_package(MERMAID) / "dist" / "mermaid.min.js"


@pytest.fixture(scope="session")
def asyncapi_schema_dir() -> Path:
    return npm_package(ASYNCAPI_SPECS) / "schemas"


@pytest.fixture(scope="session")
def maxgraph_dir() -> Path:
    return npm_package(MAXGRAPH)
