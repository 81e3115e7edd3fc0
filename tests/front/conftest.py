"""A small test site (readers that succeed, fail, find nothing...) and app fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

READER = r'''
"""Test reader: MODE BEGIN END [OPTIONS]; a das2 text stream, one record a minute.

Records start at BEGIN rounded down to the minute (so a range that does not
start on a minute gets one record before it, as many real readers do).  Mode
"late" fails after 5 records (30000 for ranges of a day or more).
"""
import sys
import time
from datetime import datetime, timedelta


def parse(text):
    return datetime.fromisoformat(text.rstrip("Z").replace(" ", "T"))


def packet(tag, xml):
    data = xml.encode()
    return b"[%s]%06d" % (tag, len(data)) + data


def main():
    mode, begin, end = sys.argv[1], parse(sys.argv[2]), parse(sys.argv[3])
    if mode == "fail":
        sys.stderr.write("cannot open /secret/path/data.dat\n")
        return 3
    out = sys.stdout.buffer
    out.write(packet(b"00", '<stream version="2.2"><properties title="ramp" '
                            'Datum:xTagWidth="1 min"/></stream>\n'))
    if mode == "empty" or begin >= end:
        out.write(packet(b"xx", '<exception type="NoDataInInterval" message="nothing" />\n'))
        return 0
    out.write(packet(b"01", '<packet><x type="time24" units="us2000"></x>'
                            '<y type="ascii10" name="value" units="V"></y></packet>\n'))
    moment, index = begin.replace(second=0, microsecond=0), 0
    fail_at = 5 if end - begin < timedelta(days=1) else 30000
    while moment < end:
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z"
        out.write(b":01:" + stamp.encode() + b"%9.3f\n" % index)
        moment += timedelta(minutes=1)
        index += 1
        if mode == "late" and index == fail_at:
            out.flush()
            time.sleep(0.5)
            sys.stderr.write("disk error at /secret/path\n")
            return 4
    return 0


sys.exit(main())
'''

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


def write_site(root: Path) -> Path:
    """Write the test site below ``root`` and return its directory."""
    readers = root / "_readers"
    readers.mkdir(parents=True)
    (readers / "ramp.py").write_text(READER)
    for name, text in DEFINITIONS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="session")
def settings(site_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    from dasflex_core.auth import hash_password
    from dasflex_core.settings import load_settings

    private = tmp_path_factory.mktemp("private")
    users, groups = private / "users", private / "groups"
    def entry(password: str) -> str:
        return hash_password(password, scheme="pbkdf2_sha256", rounds=1000)

    users.write_text(f"# test users\nann:{entry('ann-secret')}\nbob:{entry('bob-secret')}\n")
    groups.write_text("team: ann, carol\n")
    return load_settings(environ={}, site_dir=site_dir, site_title="Test <site>",
                         users_file=users, groups_file=groups,
                         server_id="test", contact_email="ann@example.org",
                         sample_source="Test/Ramp",
                         first_byte_timeout=20.0, total_timeout=60.0)


@pytest.fixture(scope="session")
def app(settings):
    from dasflex_flask import create_app

    return create_app(settings)


@pytest.fixture()
def client(app) -> Iterator:
    with app.test_client() as test_client:
        yield test_client


PYTHON = sys.executable


def basic(user: str, password: str) -> dict[str, str]:
    """An ``Authorization: Basic`` header."""
    import base64

    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def records(body: bytes) -> int:
    """Number of ``:01:`` data packets in a das2 text stream from the test reader."""
    return sum(1 for line in body.split(b"\n") if line.startswith(b":01:"))


@pytest.fixture(scope="session")
def server_url(site_dir: Path, dasflex_server) -> Iterator[str]:
    """A real ``dasflex serve`` (gunicorn) on a free loopback port, for the whole session."""
    with dasflex_server("--site", str(site_dir), "--workers", "1") as url:
        yield url
