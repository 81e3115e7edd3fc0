"""``dasflex time``: output format and exit status."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dasflex_core.cli import main


def test_valid_times_print_iso_us2000_and_tt2000(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["time", "2001-032T01:02:03.25", "2016-12-31T23:59:60.5"])
    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines == [
        "2001-032T01:02:03.25\t2001-02-01T01:02:03.250000000\t34304523250000.000\t"
        "34261387434000000",
        "2016-12-31T23:59:60.5\t2016-12-31T23:59:60.500000000\t536544000500000.000\t"
        "536500868684000000",
    ]


def test_invalid_input_prints_error_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["time", "2001-02-30", "2001-01-01", "now"])
    lines = capsys.readouterr().out.splitlines()
    assert status == 1
    assert len(lines) == 3
    first = lines[0].split("\t")
    assert first[:2] == ["2001-02-30", "ERROR"] and "day 30" in first[2]
    assert lines[1].split("\t")[1] == "2001-01-01T00:00:00.000000000"
    assert lines[2].startswith("now\tERROR\t")


def test_out_of_range_tt2000_is_the_cdf_marker(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["time", "0001-01-01"]) == 0
    assert capsys.readouterr().out.rstrip("\n").split("\t")[3] == "-9223372036854775805"


def test_command_line_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from dasflex_core.cli import main; "
         "sys.exit(main(sys.argv[1:]))", "time", "2017Z", "bad"],
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stdout.splitlines()[0].startswith("2017Z\t2017-01-01T00:00:00.000000000\t")
    assert done.stderr == ""
