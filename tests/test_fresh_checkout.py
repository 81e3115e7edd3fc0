"""A checkout with nothing beside it runs every conformance test: none skips, none fails.

The das2C vectors live in ``tests/conformance/das2c``; this copies the repository's
files into an empty directory (no ``../shared`` next to it) and runs the tests marked
``conformance`` there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import PROJECT_DIR

pytestmark = pytest.mark.system  # runs the conformance tests in a pytest subprocess

#: Folders a copy of the checkout leaves out (build products and caches).
IGNORED = shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", ".nox", ".mypy_cache",
                                 ".ruff_cache", ".pytest_cache", "build", "dist")


def test_conformance_tests_run_in_a_bare_copy(tmp_path: Path) -> None:
    checkout = tmp_path / "lonely" / "dasflex"
    shutil.copytree(PROJECT_DIR, checkout, ignore=IGNORED, symlinks=True)
    assert not (checkout.parent / "shared").exists()
    environment = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "conformance", "-p", "no:cacheprovider",
         "-rs", "tests", "--ignore", "tests/test_fresh_checkout.py"],
        cwd=checkout, env=environment, capture_output=True, text=True, timeout=1800)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "skipped" not in summary and " passed" in summary, summary
    assert int(summary.split(" passed")[0].split()[-1]) >= 500, summary
