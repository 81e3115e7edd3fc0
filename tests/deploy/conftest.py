"""A deployment test site, world-readable so that Apache's CGI user can read it too.

The site's sources run the bundled example readers (by absolute path) plus
three small test readers: one that fails before writing, one that floods its
stdout forever (for backpressure), one that writes nothing for a while.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
EXAMPLE_READERS = PROJECT_DIR / "examples" / "readers"
PYTHON = sys.executable
STARTUP_SECONDS = 30

FAIL_READER = """import sys
sys.stderr.write("cannot open /secret/path/data.dat\\n")
sys.exit(3)
"""

FLOOD_READER = """import os, sys
def packet(tag, xml):
    data = xml.encode()
    return tag + b"%06d" % len(data) + data
out = sys.stdout.buffer
out.write(packet(b"[00]", '<stream version="2.2"><properties title="flood"/></stream>\\n'))
out.write(packet(b"[01]", '<packet><x type="little_endian_real8" units="us2000"></x>'
                          '<y type="little_endian_real8" name="v" units=""></y></packet>\\n'))
block = b"".join(b":01:" + os.urandom(16) for _ in range(4096))  # incompressible
while True:
    out.write(block)
"""

QUIET_READER = """import sys, time
time.sleep(30)
"""

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

    readers = root / "site" / "_readers"
    readers.mkdir(parents=True)
    for name, text in (("fail.py", FAIL_READER), ("flood.py", FLOOD_READER),
                       ("quiet.py", QUIET_READER)):
        (readers / name).write_text(text)
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


@pytest.fixture(scope="session")
def deploy_root() -> Iterator[Path]:
    """A world-readable temporary directory holding the site and its settings."""
    root = Path(tempfile.mkdtemp(prefix="dasflex-deploy-"))
    write_deploy_site(root)
    open_tree(root)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def settings_file(deploy_root: Path) -> Path:
    return deploy_root / "settings.toml"


def basic_header(user: str, password: str) -> str:
    """An ``Authorization: Basic`` header value."""
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def processes_matching(*needles: str) -> list[int]:
    """Pids of live (non-zombie) processes whose command line holds every needle."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and all(needle in command for needle in needles):
            found.append(int(entry.name))
    return found


def das2_records(stream: bytes, record_size: int) -> list[bytes]:
    """The ``:01:`` data records of a das2 binary stream (headers skipped)."""
    records, position = [], 0
    while position < len(stream):
        tag = stream[position:position + 4]
        if tag.startswith(b"[") and tag.endswith(b"]"):
            length = int(stream[position + 4:position + 10])
            position += 10 + length
        elif tag == b":01:":
            records.append(stream[position + 4:position + 4 + record_size])
            position += 4 + record_size
        else:
            raise AssertionError(f"unexpected bytes at {position}: {stream[position:position + 20]!r}")
    return records


def start_daemon(settings_file: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """Start ``dasflex ws`` on a free port; return the process and its ws:// URL.

    Its log goes to ``ws.log`` next to the settings file (see :func:`daemon_log`).
    """
    command = [sys.executable, "-m", "dasflex_core", "ws", "--config", str(settings_file),
               "--port", "0", "--log-level", "info", *extra]
    with daemon_log(settings_file).open("a") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log,
                                   text=True, start_new_session=True)
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_SECONDS
    line = ""
    while time.monotonic() < deadline and process.poll() is None:
        line = process.stdout.readline()
        if line.startswith("dasflex ws listening on "):
            return process, line.split()[-1].rstrip("/")
    stop_daemon(process)
    raise AssertionError(f"dasflex ws did not start: {line!r}")


def daemon_log(settings_file: Path) -> Path:
    return settings_file.parent / "ws.log"


def stop_daemon(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    if process.stdout is not None:
        process.stdout.close()
