"""The project's folders, as the tests see them."""

from __future__ import annotations

import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
TESTS_DIR = PROJECT_DIR / "tests"
#: The das2C conformance vectors, kept in the repository (see its README for provenance).
CONFORMANCE_DIR = TESTS_DIR / "conformance" / "das2c"
EXAMPLES_DIR = PROJECT_DIR / "examples"
EXAMPLE_SITE = EXAMPLES_DIR / "site"
EXAMPLE_READERS = EXAMPLES_DIR / "readers"
#: The script that installs the Debian packages the tests use (the one list of them).
SYSTEM_PACKAGES_SCRIPT = "tests/system-packages.sh"
#: The environment's bin folder, where the stream tools (``dasflex_fetch``, ``das2_*``) are installed.
BIN_DIR = Path(sys.executable).parent
