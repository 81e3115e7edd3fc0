"""The bundled example readers: each runs on its example ranges and writes a das2 stream.

Only the stream header (and the packet framing of the first packets) is
checked here; the codecs are tested elsewhere.  Reader templates are filled
by a tiny local renderer so these tests depend only on the source model.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from dasflex_core.sources.loader import load_site
from tests.support.paths import PROJECT_DIR

EXAMPLE_SITE = PROJECT_DIR / "examples" / "site"
SITE = load_site(EXAMPLE_SITE)
MAX_OUTPUT_BYTES = 200_000_000

pytestmark = pytest.mark.system  # runs every example reader as a process
SLOT = re.compile(r"#\[(?P<key>[^#\]]+)(?:#(?P<present>[^#\]]*)#(?P<absent>[^\]]*))?\]")

# das2 readers; the das3-native example is checked in tests/docs/test_examples_new.py.
DAS2_SOURCES = [source for source in SITE if source.reader.output.mime == "das2"]
CASES = [(source.id, index) for source in DAS2_SOURCES for index in range(len(source.examples))]


def reader_argv(source_id: str, settings: dict[str, str]) -> list[str]:
    """The reader's argv for ``settings`` (``#[key]`` and ``#[key#@#default]`` slots only)."""
    argv = []
    for token in SITE.get(source_id).reader.template:
        def fill(match: re.Match[str]) -> str:
            key = match.group("key").strip()
            if key in settings:
                present = match.group("present")
                return settings[key] if present is None else present.replace("@", settings[key])
            if match.group("absent") is None:
                raise KeyError(key)
            return match.group("absent")

        value = SLOT.sub(fill, token)
        if value:
            argv.append(value)
    return argv


def run_reader(source_id: str, settings: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(reader_argv(source_id, settings), capture_output=True, cwd=cwd, timeout=120)


def stream_header(output: bytes) -> etree._Element:
    assert output[:4] == b"[00]", output[:40]
    length = int(output[4:10])
    # das2 property names carry type prefixes ("Datum:xTagWidth") that are not XML namespaces.
    return etree.fromstring(output[10:10 + length], etree.XMLParser(recover=True))


def next_packet_tag(output: bytes) -> bytes:
    length = int(output[4:10])
    return output[10 + length:10 + length + 4]


@pytest.mark.parametrize("source_id, index", CASES)
def test_reader_runs_on_its_examples(source_id, index, tmp_path):
    settings = dict(SITE.get(source_id).examples[index].settings)
    done = run_reader(source_id, settings, tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    header = stream_header(done.stdout)
    assert header.tag == "stream" and header.get("version") == "2.2"
    assert header.find("properties").get("title")
    assert next_packet_tag(done.stdout) == b"[01]"
    assert len(done.stdout) < MAX_OUTPUT_BYTES


@pytest.mark.parametrize("source_id", [s.id for s in DAS2_SOURCES])
def test_empty_range_gives_no_data_exception(source_id, tmp_path):
    settings = {"read.time.min": "1990-01-01T00:00:00", "read.time.max": "1990-01-01T00:00:00"}
    done = run_reader(source_id, settings, tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    stream_header(done.stdout)
    assert next_packet_tag(done.stdout) == b"[xx]"
    assert b'<exception type="NoDataInInterval"' in done.stdout


BAD_RANGES = [("yesterday", "2001-01-01"), ("2001-01-02", "2001-01-01")]


@pytest.mark.parametrize("source_id, bad", [(s.id, BAD_RANGES[i % 2]) for i, s in enumerate(SITE)])
def test_bad_arguments_fail_with_a_message(source_id, bad, tmp_path):
    done = run_reader(source_id, {"read.time.min": bad[0], "read.time.max": bad[1]}, tmp_path)
    assert done.returncode != 0
    assert done.stdout == b""
    assert done.stderr.strip() and b"Traceback" not in done.stderr


def test_missing_arguments_fail(tmp_path):
    program = SITE.get("Examples/Random").reader.template[:2]
    done = subprocess.run(list(program), capture_output=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and b"usage" in done.stderr


def test_unknown_reader_options_are_refused(tmp_path):
    settings = {"read.time.min": "2008-06-29T17:00", "read.time.max": "2008-06-29T17:01",
                "read.opts": "BxEx nonsense"}
    done = run_reader("Examples/Params", settings, tmp_path)
    assert done.returncode == 2 and b"nonsense" in done.stderr


def test_readers_are_deterministic_and_seeded_by_time(tmp_path):
    wide = {"read.time.min": "2017-01-01T00:00", "read.time.max": "2017-01-01T00:10"}
    first = run_reader("Examples/Random", wide, tmp_path).stdout
    assert first == run_reader("Examples/Random", wide, tmp_path).stdout
    later = {"read.time.min": "2017-01-01T00:05", "read.time.max": "2017-01-01T00:10"}
    tail = run_reader("Examples/Random", later, tmp_path).stdout
    record = 4 + 8 + 4
    assert first[-record * 10:] == tail[-record * 10:]


def test_flags_change_the_params_output(tmp_path):
    base = {"read.time.min": "2008-06-29T17:11:51", "read.time.max": "2008-06-29T17:11:53"}
    autos = run_reader("Examples/Params", base, tmp_path).stdout
    cross = run_reader("Examples/Params", {**base, "read.opts": "BxEx complex"}, tmp_path).stdout
    assert b'name="BxBx"' in autos and b'name="BxEx_re"' not in autos
    assert b'name="BxEx_re"' in cross and b'name="BxEx_im"' in cross and b'name="BxBx"' not in cross


def test_waveform_is_a_waveform_yscan(tmp_path):
    settings = dict(SITE.get("Examples/Waveform").examples[0].settings)
    output = run_reader("Examples/Waveform", settings, tmp_path).stdout
    assert stream_header(output).find("properties").get("renderer") == "waveform"
    assert b"yTagInterval=" in output and b'yUnits="s"' in output
