"""Loading a site directory and the ``dasflex check`` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dasflex_core.cli import main
from dasflex_core.errors import DefinitionError
from dasflex_core.model import Site
from dasflex_core.sources.loader import load_site, scan_site, source_id_for
from tests.support.paths import PROJECT_DIR

EXAMPLE_SITE = PROJECT_DIR / "examples" / "site"
EXAMPLE_IDS = ["Examples/Auth", "Examples/Daily", "Examples/Das3Native", "Examples/Params",
               "Examples/Random", "Examples/Realtime",
               "Examples/Spectra", "Examples/Waveform"]

GOOD_DSDF = "description = 'Good'\nreader = 'r'\ndas2Stream = 1\n"


def make_site(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def example_site() -> Site:
    return load_site(EXAMPLE_SITE)


def test_example_site_loads(example_site):
    assert [s.id for s in example_site] == EXAMPLE_IDS
    assert len(example_site) == len(EXAMPLE_IDS)
    assert example_site.get("Examples/Waveform").definition_format == "json"
    assert example_site.get("Examples/Random").definition_format == "dsdf"
    examples = example_site.directories["Examples"]
    assert examples.title and examples.hapi


def test_lookup_is_case_insensitive(example_site):
    assert example_site.get("examples/random").id == "Examples/Random"
    assert example_site.get("/EXAMPLES/RANDOM/").id == "Examples/Random"
    assert example_site.get("Examples/Nothing") is None
    assert example_site.directory("examples").id == "Examples"


def test_every_example_has_examples_and_a_reader(example_site):
    for source in example_site:
        assert source.examples, source.id
        assert source.reader is not None, source.id
        assert Path(source.reader.template[1]).is_file(), source.id


def test_protected_and_realtime_examples(example_site):
    assert [s.id for s in example_site if s.protected] == ["Examples/Auth"]
    assert example_site.get("Examples/Auth").access.realm
    assert example_site.get("Examples/Params").param("read.opts").type.value == "FlagSet"


def test_source_ids_come_from_paths(tmp_path):
    assert source_id_for(tmp_path, tmp_path / "A" / "B" / "C.dsdf") == "A/B/C"


def test_nested_directories_and_skipped_names(tmp_path):
    root = make_site(tmp_path, {
        "Top.dsdf": GOOD_DSDF,
        "Mission/Instr/Survey.dsdf": GOOD_DSDF,
        "Mission/_dirinfo_.dsdf": "description = 'The mission'\n",
        "Mission/_readers/notes.dsdf": "this is not a definition\n",
        ".hidden/X.dsdf": "garbage\n",
        "Mission/readme.txt": "not a definition\n",
    })
    site = load_site(root)
    assert [s.id for s in site] == ["Mission/Instr/Survey", "Top"]
    assert set(site.directories) == {"Mission", "Mission/Instr"}
    assert site.directories["Mission"].title == "The mission"


def test_problems_are_collected_with_file_and_line(tmp_path):
    root = make_site(tmp_path, {
        "Good.dsdf": GOOD_DSDF,
        "Bad.dsdf": "description = 'Bad'\n\nreader\n",
        "Sub/Bad.json": '{"version": "1"}',
    })
    report = scan_site(root)
    assert not report.ok and report.files == 3
    assert [s.id for s in report.site] == ["Good"]
    messages = [str(p) for p in report.problems]
    assert messages[0] == f"{root / 'Bad.dsdf'}: line 3: expected 'key = value', got 'reader'"
    assert messages[1].startswith(f"{root / 'Sub/Bad.json'}: ")
    with pytest.raises(DefinitionError, match=r"line 3: .*\(and 1 more problem\)"):
        load_site(root)


def test_duplicate_ids_in_any_case_are_refused(tmp_path):
    root = make_site(tmp_path, {
        "Dup.dsdf": GOOD_DSDF,
        "dup.json": '{"version": "1", "title": "t", "commands": {"r": {"role": "reader", '
                    '"template": "r", "output": "das2/2.2/binary"}}}',
    })
    report = scan_site(root)
    assert len(report.problems) == 1
    assert "already defined" in report.problems[0].reason


def test_missing_site_directory(tmp_path):
    report = scan_site(tmp_path / "absent")
    assert not report.ok and "does not exist" in report.problems[0].reason


def test_check_command_on_the_examples(capsys):
    assert main(["check", "--site", str(EXAMPLE_SITE)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"OK: {len(EXAMPLE_IDS)} sources, 1 directories")


def test_check_command_on_a_broken_site(tmp_path, capsys):
    root = make_site(tmp_path, {"Good.dsdf": GOOD_DSDF,
                                "Broken.dsdf": "description = 'x'\nreader = 'r'\nvalidRange = 'soon'\n"})
    assert main(["check", "--site", str(root)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[0] == (f"dasflex check: {root / 'Broken.dsdf'}: line 3: validRange: "
                        "expected 'BEGIN to END', got 'soon'")
    assert lines[-1] == f"dasflex check: 1 problem in {root}"


def test_check_command_defaults_to_the_bundled_examples():
    done = subprocess.run([sys.executable, "-m", "dasflex_core", "check"], capture_output=True,
                          text=True, timeout=60, cwd="/", env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert f"OK: {len(EXAMPLE_IDS)} sources" in done.stdout
