"""``dasflex_core.codecs.summary``: the one stream summary of inspect, /verify and verify."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dasflex_core.codecs.summary import StreamSummary, start_summary, summarize
from dasflex_core.errors import StreamError


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[start:start + size] for start in range(0, len(data), size)]


def test_summary_of_a_das2_stream_in_small_chunks(conformance_dir: Path) -> None:
    data = (conformance_dir / "das2" / "syn_redefine_oob.d2t").read_bytes()
    summary = summarize(_chunks(data, 7))
    assert summary.records == 22
    assert summary.report["format"] == "das2"
    assert summary.earliest is not None and summary.latest is not None
    assert summary.earliest < summary.latest
    assert summary.exceptions == [
        {"type": "NoDataInInterval", "message": "synthetic: no more data <after> this"}]
    report = summary.result()
    assert report["first_time"] == "2020-02-29T23:59:50.250000Z"
    assert report == summarize([data]).result()


def test_a_forced_format_reads_the_bytes_as_that_format(conformance_dir: Path) -> None:
    das3 = (conformance_dir / "das3" / "tag_test.dNt").read_bytes()
    assert summarize([das3]).records > 0
    assert summarize([das3], "das3").records > 0
    with pytest.raises(StreamError):
        summarize([das3], "das2")


def test_unknown_bytes_and_empty_input_are_stream_errors() -> None:
    with pytest.raises(StreamError, match="not a das2 or das3 stream"):
        start_summary(b"GARBAGE")
    with pytest.raises(StreamError):
        summarize([])
    assert StreamSummary("unknown").result()["records"] == 0


def test_importing_the_summary_loads_no_codec_or_numpy() -> None:
    probe = ("import sys, dasflex_core.codecs.summary\n"
             "print(' '.join(m for m in ('numpy', 'dasflex_core.codecs.das2', "
             "'dasflex_core.cli') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == []
