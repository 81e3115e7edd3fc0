"""A deployment test site, world-readable so that Apache's CGI user can read it too.

The site's sources run the bundled example readers (by absolute path) plus
three test readers from :mod:`tests.support.readers`: ``fail.py`` fails
before writing, ``flood.py`` floods its stdout forever (for backpressure),
``quiet.py`` writes nothing for a while.  The ``deploy_root`` and
``settings_file`` fixtures of tests/conftest.py write it once per session.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.support import readers
from tests.support.paths import EXAMPLE_READERS

DEFINITIONS = {
    "Test/_dirinfo_.dsdf": "description = 'Deployment test sources'\nhapi = 1\n",
    "Test/Random.dsdf": (
        "description = 'Random values'\n"
        f"reader = '$(PYTHON) {EXAMPLE_READERS}/random_reader.py'\n"
        "das2Stream = 1\nnot_reducible = 1\n"
        "coord_00 = 'time | Time | UTC'\nitem_00 = 'radius | Random radius | Re'\n"
    ),
    "Test/Spectra.dsdf": (
        "description = 'Spectrogram with HAPI'\n"
        f"reader = '$(PYTHON) {EXAMPLE_READERS}/spectra_reader.py'\n"
        "das2Stream = 1\nvalidRange = '1979-03-01 to 1979-03-05'\nhapi = 1\n"
        "coord_00 = 'time | Time | UTC'\ncoord_01 = 'frequency | Frequency | Hz'\n"
        "data_00 = 'spec_dens | Spectral density | V**2 m**-2 Hz**-1'\n"
        "exampleRange_00 = '1979-03-01T12:26:11 to 1979-03-01T12:29:24 | Three minutes'\n"
    ),
    "Test/Locked.dsdf": (
        "description = 'Protected random values'\n"
        f"reader = '$(PYTHON) {EXAMPLE_READERS}/random_reader.py'\n"
        "das2Stream = 1\nnot_reducible = 1\n"
        "readAccess = 'GROUP:team'\nsecurityRealm = 'Deploy Realm'\n"
    ),
    "Test/Realtime.dsdf": (
        "description = 'Live signal'\n"
        f"reader = '$(PYTHON) {EXAMPLE_READERS}/realtime_reader.py'\n"
        "das2Stream = 1\nrealTime = 1\nnot_reducible = 1\n"
    ),
    "Test/Fails.dsdf": (
        "description = 'Always fails'\nreader = '$(PYTHON) ../_readers/fail.py'\n"
        "das2Stream = 1\nnot_reducible = 1\n"
    ),
    "Test/Flood.dsdf": (
        "description = 'Endless fast output'\nreader = '$(PYTHON) ../_readers/flood.py'\n"
        "das2Stream = 1\nnot_reducible = 1\n"
    ),
    "Test/Quiet.dsdf": (
        "description = 'Writes nothing for 30 s'\nreader = '$(PYTHON) ../_readers/quiet.py'\n"
        "das2Stream = 1\nnot_reducible = 1\n"
    ),
}

USERS = {"ann": "ann-secret", "bob": "bob-secret"}
GROUPS = "team: ann, carol\n"


def write_deploy_site(root: Path, first_byte_timeout: float = 20.0) -> Path:
    """Write the site, users, groups and a settings file below ``root``; return the settings."""
    from dasflex_core.auth import hash_password

    readers.install(root / "site" / "_readers", "fail.py", "flood.py", "quiet.py")
    for name, text in DEFINITIONS.items():
        path = root / "site" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    users = "".join(f"{user}:{hash_password(password, scheme='pbkdf2_sha256', rounds=1000)}\n"
                    for user, password in USERS.items())
    (root / "users").write_text(users)
    (root / "groups").write_text(GROUPS)
    settings = root / "settings.toml"
    settings.write_text(
        "[dasflex]\n"
        f'site_dir = "{root / "site"}"\n'
        f'users_file = "{root / "users"}"\n'
        f'groups_file = "{root / "groups"}"\n'
        'server_id = "deploy-test"\n'
        f"first_byte_timeout = {first_byte_timeout}\n"
        "total_timeout = 120.0\n"
    )
    return settings


def open_tree(root: Path) -> None:
    """Make ``root`` and everything in it readable (and directories searchable) by all."""
    for directory, _dirs, files in os.walk(root):
        os.chmod(directory, 0o755)
        for name in files:
            os.chmod(os.path.join(directory, name), 0o644)
