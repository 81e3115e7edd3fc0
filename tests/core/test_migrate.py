"""``dasflex import``: a synthetic predecessor site becomes a working dasflex site."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import pytest

from dasflex_core.auth import check_password, hash_password
from dasflex_core.cli import main
from dasflex_core.errors import DefinitionError
from dasflex_core.migrate import import_site, read_conf
from dasflex_core.settings import load_settings
from dasflex_core.sources.loader import load_site

READER = "import sys\nsys.stdout.write('')\n"

CONF = """# dasflex.conf of the old server
PREFIX = /opt/old
SITE_TITLE = 'Radio and Plasma Wave Group'
SERVER_NAME = Old Server
SERVER_URL = "https://old.example.org/das/server"
SERVER_ID = rpw
CONTACT_EMAIL = admin@example.org   # the administrator
ENABLE_HAPI_SUBSYS = yes
ALLOW_TEST_FROM = 127.0.0.1 10.0.0.0/8 nonsense
USER_PASSWD = %(PREFIX)s/etc/passwd
USER_GROUP = %(PREFIX)s/etc/group
PEERS_FILE = %(PREFIX)s/etc/das2peers.ini
RESOURCE_PATH = %(PREFIX)s/static
READERS = /opt/old/bin
DAS_TO_PNG = das2_png
HANDLE_DATA = mymod.handler
"""

DIRINFO = "description = 'Cassini RPWS'\nlocalId = 'Cassini'\n"

SURVEY = """; Survey data\r
description = 'Survey spectra'\r
localId = 'Cassini/Survey'\r
reader = '$(PYTHON) $(READERS)/survey.py'\r
das2Stream = 1\r
groupAccess = 'rpws'\r
exampleRange_00 = '2004-01-01 to 2004-01-02 UTC'\r
"""

SHELL_READER = "description = 'Key parameters'\nreader = 'kp_rdr $(PARAMS) | gzip -d'\ndas2Stream = 1\n"

OLD_COMMANDS = {
    "commands": [
        {"name": "psd", "role": "psd", "template": "das2_psd -d #[dft.length] #[dft.slide]",
         "input": "application/vnd.das2.das2stream", "output": "application/vnd.das2.das2stream",
         "trigger": "dft.length", "title": "Spectra"},
        {"name": "votable", "role": "format.votable", "template": "to_vot",
         "input": "application/vnd.das2.das2stream", "output": "application/x-votable+xml"},
    ]
}


def write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def old_site(tmp_path: Path) -> Path:
    """A predecessor site: etc/, datasets/ with DSDFs (one Latin-1, CRLF), static/logo."""
    old = tmp_path / "old"
    write(old / "etc" / "dasflex.conf", CONF)
    good_hash = hash_password("correct horse", scheme="pbkdf2_sha256")
    write(old / "etc" / "passwd", f"testuser:lLxAbCdEfGhIj\nalice:{good_hash}\n"
                                  "bob:$apr1$abc$0123456789abcdefghijkl\n")
    write(old / "etc" / "group", "testgroup:x:100:testuser\nrpws:x:101:alice,testuser\n")
    write(old / "etc" / "das2peers.ini", "[planet]\nurl = https://planet.example.org/das\n")
    write(old / "etc" / "commands.json", json.dumps(OLD_COMMANDS))
    write(old / "static" / "logo.png", b"\x89PNG\r\n\x1a\n")
    write(old / "datasets" / "cassini" / "_dirinfo_.dsdf", DIRINFO)
    write(old / "datasets" / "cassini" / "survey.dsdf", SURVEY.replace("Survey spectra", "Survey spectra \xe9t\xe9").encode("latin-1"))
    write(old / "datasets" / "juno" / "kp.dsdf", SHELL_READER)
    write(old / "bin" / "survey.py", READER)
    return old


def test_conf_reading_expands_interpolations_and_strips_comments(old_site):
    conf = read_conf(old_site / "etc" / "dasflex.conf")
    assert conf["SITE_TITLE"] == "Radio and Plasma Wave Group"
    assert conf["CONTACT_EMAIL"] == "admin@example.org"
    assert conf["USER_PASSWD"] == "/opt/old/etc/passwd"


def test_import_writes_a_loadable_site(old_site, tmp_path):
    new = tmp_path / "new"
    report = import_site(old_site, new)
    assert report.ok, report.problems
    site = load_site(new / "site", {"PYTHON": sys.executable})
    assert [s.id for s in site] == ["Cassini/Survey", "juno/kp"]
    survey = site.get("Cassini/Survey")
    assert survey.title == "Survey spectra \u00e9t\u00e9"
    assert "/opt/old/bin/survey.py" in survey.reader.template
    assert survey.protected
    text = (new / "site" / "Cassini" / "Survey.dsdf").read_text(encoding="utf-8")
    assert "\r" not in text and "localId" not in text
    assert (new / "site" / "Cassini" / "_dirinfo_.dsdf").is_file()


def test_settings_carry_the_mapped_keys(old_site, tmp_path):
    new = tmp_path / "new"
    import_site(old_site, new)
    table = tomllib.loads((new / "dasflex.toml").read_text())["dasflex"]
    assert table["site_title"] == "Radio and Plasma Wave Group"
    assert table["hapi_enabled"] is True
    assert table["allow_from"] == "127.0.0.1/32 10.0.0.0/8"
    settings = load_settings(new / "dasflex.toml", environ={})
    assert settings.site_dir == (new / "site").resolve()
    assert settings.server_url == "https://old.example.org/das/server"
    assert settings.users_file == (new / "users").resolve()
    assert settings.peers_file.read_text().startswith("[planet]")
    assert settings.logo_file.name == "logo.png"


def test_accounts_keep_good_hashes_and_drop_the_test_account(old_site, tmp_path):
    new = tmp_path / "new"
    report = import_site(old_site, new)
    users = (new / "users").read_text().splitlines()
    assert [line.split(":")[0] for line in users] == ["alice"]
    assert check_password("correct horse", users[0].split(":", 1)[1])
    assert (new / "groups").read_text() == "testgroup: \nrpws: alice\n"
    notes = "\n".join(report.not_carried)
    assert "user 'testuser'" in notes and "user 'bob'" in notes


def test_report_lists_what_was_not_carried(old_site, tmp_path):
    report = import_site(old_site, tmp_path / "new")
    notes = "\n".join(report.not_carried)
    for expected in ("SERVER_NAME", "HANDLE_DATA", "'nonsense'", "kp.dsdf: the reader uses shell",
                     "command 'votable'"):
        assert expected in notes
    assert "SITE_TITLE" not in notes and "command 'psd'" not in notes


def test_custom_commands_become_a_site_table(old_site, tmp_path):
    new = tmp_path / "new"
    import_site(old_site, new)
    table = json.loads((new / "site" / "_commands.json").read_text())["commands"]
    assert set(table) == {"site_psd", "site_png"}
    assert table["site_psd"]["role"] == "transform"
    assert table["site_psd"]["activation"] == [{"key": "dft.length"}]
    assert table["site_png"]["output"] == "png"


def test_a_bad_definition_is_reported_by_the_check(old_site, tmp_path):
    write(old_site / "datasets" / "broken.dsdf", "description = 'no reader'\n")
    report = import_site(old_site, tmp_path / "new")
    assert not report.ok
    assert any("broken" in problem.lower() for problem in report.problems)


def test_cli_prints_the_report_and_refuses_a_full_target(old_site, tmp_path, capsys):
    new = tmp_path / "new"
    assert main(["import", str(old_site), str(new)]) == 0
    out = capsys.readouterr().out
    assert "2 source definitions" in out and "not carried over: SERVER_NAME" in out
    assert "check: OK" in out
    assert main(["import", str(old_site), str(new)]) == 1
    assert "not empty" in capsys.readouterr().err
    assert main(["import", str(old_site), str(new), "--force"]) == 0


def test_missing_old_site_is_a_clear_error(tmp_path):
    with pytest.raises(DefinitionError, match="does not exist"):
        import_site(tmp_path / "nothing", tmp_path / "new")
