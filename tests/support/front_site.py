"""The front test site: readers that succeed, fail, find nothing, fail late; protected sources.

Served by the ``site_dir``/``settings``/``app``/``client``/``server_url``
fixtures of tests/conftest.py.  Its reader is :mod:`tests.support.readers`'
``ramp.py``; the accounts are ann (group team) and bob.
"""

from __future__ import annotations

from pathlib import Path

from tests.support import readers

DEFINITIONS = {
    "Test/_dirinfo_.dsdf": "description = 'Test sources'\n",
    "Test/Ramp.dsdf": (
        "description = 'A ramp, one value a minute'\n"
        "summary = 'Values that grow by one each minute.'\n"
        "reader = '$(PYTHON) ../_readers/ramp.py ok'\n"
        "das2Stream = 1\n"
        "validRange = '2020-01-01 to 2020-12-31'\n"
        "exampleRange_00 = '2020-01-01T00:00 to 2020-01-01T01:00 | first hour'\n"
        "techContact = 'Ann Tester <ann@example.org>'\n"
        "item_00 = 'value | Ramp value | V'\n"
        "param_00 = 'fast | Fast mode'\n"
        "param_01 = 'smooth | Smoothed values'\n"
        "not_reducible = 1\n"
        "hapi = 1\n"
    ),
    "Test/Empty.dsdf": (
        "description = 'Never any data'\n"
        "reader = '$(PYTHON) ../_readers/ramp.py empty'\n"
        "das2Stream = 1\n"
        "exampleRange_00 = '2020-01-01 to 2020-01-02'\n"
        "not_reducible = 1\n"
    ),
    "Test/Fails.dsdf": (
        "description = 'A reader that always fails'\n"
        "hapi = 1\n"
        "validRange = '2020-01-01 to 2020-12-31'\n"
        "item_00 = 'value | Value | V'\n"
        "reader = '$(PYTHON) ../_readers/ramp.py fail'\n"
        "das2Stream = 1\n"
        "not_reducible = 1\n"
    ),
    "Test/Late.dsdf": (
        "description = 'A reader that fails after some records'\n"
        "hapi = 1\n"
        "validRange = '2020-01-01 to 2020-12-31'\n"
        "exampleRange_00 = '2020-01-01T00:00 to 2020-01-01T00:03'\n"
        "reader = '$(PYTHON) ../_readers/ramp.py late'\n"
        "das2Stream = 1\n"
        "not_reducible = 1\n"
    ),
    "Test/Locked.dsdf": (
        "description = 'Protected ramp'\n"
        "reader = '$(PYTHON) ../_readers/ramp.py ok'\n"
        "das2Stream = 1\n"
        "readAccess = 'GROUP:team'\n"
        "securityRealm = 'Test Realm'\n"
        "not_reducible = 1\n"
    ),
    "Test/Aged.dsdf": (
        "description = 'Public once a year old'\n"
        "reader = '$(PYTHON) ../_readers/ramp.py ok'\n"
        "das2Stream = 1\n"
        "readAccess = 'AGE:1y | GROUP:team'\n"
        "not_reducible = 1\n"
    ),
    "Test/Moved.dsdf": (
        "description = 'Served elsewhere'\n"
        "server = 'http://elsewhere.example.org/das/server'\n"
    ),
    "Test/Renamed.dsdf": (
        "description = 'Old name of the ramp'\n"
        "rename = 'Test/Ramp'\n"
    ),
}


USERS = {"ann": "ann-secret", "bob": "bob-secret"}
GROUPS = "team: ann, carol\n"


def write_site(root: Path) -> Path:
    """Write the test site below ``root`` and return its directory."""
    readers.install(root / "_readers", "ramp.py")
    for name, text in DEFINITIONS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def write_accounts(folder: Path) -> tuple[Path, Path]:
    """Write the users (cheap hashes) and groups files into ``folder``; return their paths."""
    from dasflex_core.auth import hash_password

    users, groups = folder / "users", folder / "groups"
    entries = "".join(f"{user}:{hash_password(password, scheme='pbkdf2_sha256', rounds=1000)}\n"
                      for user, password in USERS.items())
    users.write_text("# test users\n" + entries)
    groups.write_text(GROUPS)
    return users, groups
