"""``dasflex verify``: the bundled examples pass; a broken reader fails the run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dasflex_core.cli import main
from dasflex_core.sources.loader import load_site
from dasflex_core.verify import DAS_OUTPUTS, Check, format_table, verify_site
from tests.support.paths import PROJECT_DIR

EXAMPLES = PROJECT_DIR / "examples"

BROKEN_READER = '''
import sys
sys.stdout.buffer.write(b"[00]000010<garbage!>")
sys.stderr.write("cannot open /secret/file\\n")
sys.exit(2)
'''


@pytest.mark.system  # runs every bundled example reader through pipelines
def test_bundled_examples_pass_on_their_first_range(capsys):
    status = main(["verify", "--site", str(EXAMPLES / "site"), "--first"])
    out = capsys.readouterr()
    assert status == 0, out.out + out.err
    *table, summary = out.out.splitlines()
    rows = [line.split() for line in table[1:]]
    assert summary.endswith("passed, 0 failed")
    assert {row[2] for row in rows} >= {"das2-binary", "das2-text", "das3-binary", "das3-text",
                                        "csv", "hapi-csv", "hapi-binary", "hapi-json",
                                        "csv-plain", "parquet", "netcdf", "votable",
                                        "votable-binary", "json"}
    assert all(row[3] == "ok" for row in rows)
    assert {row[1] for row in rows} == {"0"}


def broken_site(tmp_path: Path) -> Path:
    """A copy of the example site whose Random reader writes garbage and fails."""
    shutil.copytree(EXAMPLES / "site", tmp_path / "site")
    shutil.copytree(EXAMPLES / "readers", tmp_path / "readers")
    (tmp_path / "readers" / "random_reader.py").write_text(BROKEN_READER)
    return tmp_path / "site"


@pytest.mark.system  # runs reader pipelines
def test_broken_reader_fails_the_run(tmp_path, capsys):
    site = broken_site(tmp_path)
    status = main(["verify", "--site", str(site), "--first", "--no-hapi",
                   "Examples/Random", "Examples/Params"])
    out = capsys.readouterr()
    assert status == 1
    failed = [line for line in out.out.splitlines() if " FAIL " in line]
    assert len(failed) == len(DAS_OUTPUTS)
    assert all(line.startswith("Examples/Random") for line in failed)
    assert "failed" in out.err


@pytest.mark.system  # runs reader pipelines
def test_garbage_stream_from_a_successful_reader_fails(tmp_path):
    site_dir = broken_site(tmp_path)
    (tmp_path / "readers" / "random_reader.py").write_text(
        'import sys\nsys.stdout.buffer.write(b"[00]000010<garbage!>")\n')
    checks = verify_site(load_site(site_dir), ["Examples/Random"], first_only=True, hapi=False)
    assert [c.status for c in checks] == ["FAIL"] * len(DAS_OUTPUTS)
    assert all(c.message for c in checks)


@pytest.mark.system  # runs reader pipelines
def test_data_outside_the_range_fails(tmp_path):
    site_dir = broken_site(tmp_path)
    shifted = (EXAMPLES / "readers" / "random_reader.py").read_text()
    (tmp_path / "readers" / "random_reader.py").write_text(shifted)
    source = load_site(site_dir).get("Examples/Random")
    wrapper = tmp_path / "readers" / "shifted.py"
    wrapper.write_text(
        "import runpy, sys\n"
        "sys.argv[1:3] = ['2016-01-01', '2016-01-02']\n"
        "runpy.run_path(sys.argv[0].replace('shifted.py', 'random_reader.py'),"
        " run_name='__main__')\n")
    definition = Path(source.definition_path)
    definition.write_text(definition.read_text().replace("random_reader.py", "shifted.py"))
    checks = verify_site(load_site(site_dir), ["Examples/Random"], first_only=True, hapi=False)
    das2 = [c for c in checks if c.output == "das2-binary"]
    assert das2[0].failed and "leave the range" in das2[0].message


def test_unknown_source_is_one_clear_error(capsys):
    status = main(["verify", "--site", str(EXAMPLES / "site"), "No/Such"])
    err = capsys.readouterr().err
    assert status == 1 and "no data source 'No/Such'" in err and "Traceback" not in err


def test_table_has_one_row_per_check():
    checks = [Check("A", 0, "csv", "ok", 3, 30, 0.1), Check("B", 1, "das2-text", "FAIL",
                                                            message="bad stream")]
    lines = format_table(checks).splitlines()
    assert len(lines) == 3 and lines[2].split()[:4] == ["B", "1", "das2-text", "FAIL"]
    assert lines[2].endswith("bad stream")


def test_missing_site_is_one_clear_error(tmp_path, capsys):
    status = main(["verify", "--site", str(tmp_path / "none")])
    err = capsys.readouterr().err
    assert status == 1 and "no such site directory" in err
