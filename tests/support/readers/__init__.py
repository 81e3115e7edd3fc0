"""Test reader programs: scripts a test site runs as ``$(PYTHON) ../_readers/NAME.py``.

Each script frames its das2 packets with :func:`das2packets.packet`, copied
beside it by :func:`install` (the scripts import it from their own folder).
"""

from __future__ import annotations

import shutil
from pathlib import Path

READERS_DIR = Path(__file__).resolve().parent
#: The module every reader imports (from its own folder).
PACKETS_MODULE = "das2packets.py"


def install(directory: Path, *names: str) -> Path:
    """Copy the readers ``names`` (file names, e.g. ``"ramp.py"``) and their packet module
    into ``directory`` (created if missing); return ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in (PACKETS_MODULE, *names):
        shutil.copyfile(READERS_DIR / name, directory / name)
    return directory
