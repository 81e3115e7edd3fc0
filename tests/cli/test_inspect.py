"""``dasflex inspect``: JSON summaries of das2/das3 streams, one-line errors."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from dasflex_core.cli import main


def inspect(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(["inspect", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_das2_summary(conformance_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = inspect([str(conformance_dir / "das2" / "syn_redefine_oob.d2t")], capsys)
    assert status == 0, err
    summary = json.loads(out)
    assert summary["format"] == "das2"
    assert summary["version"] == "2.2"
    assert summary["properties"]["Datum:xTagWidth"] == "10 s"
    assert summary["packets"]["01"]["definitions"] == 2
    assert summary["packets"]["01"]["records"] + summary["packets"]["02"]["records"] == 22
    assert summary["records"] == 22
    planes = summary["packets"]["01"]["definition"]["planes"]
    assert [plane["kind"] for plane in planes] == ["x", "yscan"]
    assert planes[1]["items"] == 3 and planes[1]["field"] == "yscan1"
    assert summary["first_time"] == "2020-02-29T23:59:50.250000Z"
    assert summary["last_time"] == "2020-03-01T00:00:35.500000Z"
    assert summary["comment_count"] == 3
    assert summary["comments"][0] == {"type": "log:info", "source": "gen_synthetic", "value": "starting"}
    assert summary["exceptions"] == [
        {"type": "NoDataInInterval", "message": "synthetic: no more data <after> this"}
    ]


def test_epoch_units_give_the_same_times(conformance_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = inspect([str(conformance_dir / "das2" / "syn_epochs.d2s")], capsys)
    summary = json.loads(out)
    assert status == 0
    assert summary["first_time"] == "2020-01-01T12:00:00.000000Z"
    assert summary["packets"]["04"]["definition"]["planes"][0]["units"] == "mj1958"


def test_deflate_and_non_time_x(conformance_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = inspect([str(conformance_dir / "das2" / "syn_deflate.d2s")], capsys)
    assert status == 0 and json.loads(out)["compression"] == "deflate"
    status, out, _ = inspect([str(conformance_dir / "das2" / "ex13_marsis_bmag.d2t")], capsys)
    summary = json.loads(out)
    assert status == 0 and summary["records"] == 5423
    assert summary["first_time"] is None


def test_das3_stream(conformance_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = inspect([str(conformance_dir / "das3" / "tag_test.dNt")], capsys)
    assert status == 0, err
    summary = json.loads(out)
    assert summary["format"] == "das3"
    assert summary["records"] > 0


def test_standard_input(conformance_dir: Path, capsys: pytest.CaptureFixture[str],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    data = (conformance_dir / "das2" / "x_multi_y.d2s").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    status, out, _ = inspect(["-"], capsys)
    assert status == 0
    assert json.loads(out)["packets"]["01"]["records"] == 13836


def test_invalid_stream_exits_1_with_one_line(tmp_path: Path, conformance_dir: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    data = (conformance_dir / "das2" / "x_multi_y.d2s").read_bytes()
    broken = tmp_path / "broken.d2s"
    broken.write_bytes(data[:-3])
    status, out, err = inspect([str(broken)], capsys)
    assert status == 1 and out == ""
    assert err.count("\n") == 1
    assert "ends inside a packet" in err and "at byte" in err


def test_invalid_das3_and_missing_file(tmp_path: Path, conformance_dir: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = inspect([str(conformance_dir / "das3" / "reject_rank3_noterm.d3t")], capsys)
    assert status == 1 and "at byte" in err
    status, _, err = inspect([str(tmp_path / "absent.d2s")], capsys)
    assert status == 1 and "absent.d2s" in err and err.count("\n") == 1


def test_empty_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.d2s"
    empty.write_bytes(b"")
    status, _, err = inspect([str(empty)], capsys)
    assert status == 1 and "empty input" in err
