"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONFORMANCE_DIR = PROJECT_DIR.parent / "shared" / "conformance" / "das2c"


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    """The das2C conformance vectors in ../shared; skip (saying why) when absent."""
    if not CONFORMANCE_DIR.is_dir():
        pytest.skip(f"conformance vectors not found at {CONFORMANCE_DIR} (../shared is absent)")
    return CONFORMANCE_DIR
