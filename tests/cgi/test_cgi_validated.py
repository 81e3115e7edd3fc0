"""The CGI checks each JSON definition against the schema once, then remembers it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dasflex_cgi import validated
from dasflex_core.errors import DefinitionError

EXAMPLE_SITE = Path(__file__).resolve().parents[2] / "examples" / "site"

LOAD = '''
import sys
from dasflex_cgi.validated import load_site
site = load_site(sys.argv[1])
print(len(site), "jsonschema" in sys.modules)
'''


def _load_in_fresh_process(site: Path, temporary: Path) -> tuple[int, bool]:
    """Sources loaded, and whether jsonschema was imported, in a new interpreter."""
    done = subprocess.run([sys.executable, "-c", LOAD, str(site)], capture_output=True, text=True,
                          env={**os.environ, "TMPDIR": str(temporary)}, check=True)
    count, imported = done.stdout.split()
    return int(count), imported == "True"


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    copy = tmp_path / "site"
    shutil.copytree(EXAMPLE_SITE, copy)
    return copy


def _json_definitions(site: Path) -> list[Path]:
    return sorted(site.rglob("*.json"))


def test_second_request_skips_jsonschema(site: Path, tmp_path: Path) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    first = _load_in_fresh_process(site, temporary)
    second = _load_in_fresh_process(site, temporary)
    assert first[0] == second[0] > 0
    assert first[1] is True and second[1] is False
    store = temporary / f"dasflex-cgi-{os.getuid()}" / "validated.json"
    assert len(json.loads(store.read_text())["digests"]) == len(_json_definitions(site))
    assert store.stat().st_mode & 0o077 == 0


def test_an_edited_definition_is_checked_again(site: Path, tmp_path: Path) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    _load_in_fresh_process(site, temporary)
    definition = _json_definitions(site)[0]
    document = json.loads(definition.read_text())
    document["title"] = "Edited title"
    definition.write_text(json.dumps(document))
    assert _load_in_fresh_process(site, temporary)[1] is True
    assert _load_in_fresh_process(site, temporary)[1] is False


def test_a_bad_definition_still_fails_after_good_ones_were_remembered(site: Path,
                                                                     tmp_path: Path) -> None:
    store = tmp_path / "private" / "validated.json"
    validated.load_site(site, store)
    definition = _json_definitions(site)[0]
    document = json.loads(definition.read_text())
    del document["title"]
    definition.write_text(json.dumps(document))
    with pytest.raises(DefinitionError, match="title"):
        validated.load_site(site, store)


def test_a_store_others_may_write_is_ignored(site: Path, tmp_path: Path) -> None:
    store = tmp_path / "shared" / "validated.json"
    validated.load_site(site, store)
    assert validated.read_digests(store)
    store.parent.chmod(0o777)
    assert validated.read_digests(store) == set()
    store.parent.chmod(0o700)
    store.chmod(0o666)
    assert validated.read_digests(store) == set()
    assert validated.read_digests(store.parent / "absent.json") == set()


def test_a_store_of_another_version_is_ignored(site: Path, tmp_path: Path) -> None:
    store = tmp_path / "private" / "validated.json"
    validated.load_site(site, store)
    document = json.loads(store.read_text())
    store.write_text(json.dumps({**document, "version": validated.STORE_VERSION + 1}))
    assert validated.read_digests(store) == set()


BUILD = '''
import os, sys
import dasflex_cgi
app = dasflex_cgi.build_application(dict(os.environ))
print(app is not dasflex_cgi._unavailable_app, "jsonschema" in sys.modules)
'''


def test_a_cgi_request_with_a_settings_file_checks_it_once(site: Path, tmp_path: Path) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    config = tmp_path / "dasflex.toml"
    config.write_text(f'[dasflex]\nsite_dir = "{site}"\nsite_title = "CGI test"\n')
    environ = {**os.environ, "TMPDIR": str(temporary), "DASFLEX_CONFIG": str(config)}

    def build() -> tuple[bool, bool]:
        done = subprocess.run([sys.executable, "-c", BUILD], capture_output=True, text=True,
                              env=environ, check=True)
        served, imported = done.stdout.split()
        return served == "True", imported == "True"

    assert build() == (True, True)
    assert build() == (True, False)
    config.write_text(f'[dasflex]\nsite_dir = "{site}"\nsite_title = 3\n')
    assert build() == (False, True)  # an edited, invalid file is checked and refused
