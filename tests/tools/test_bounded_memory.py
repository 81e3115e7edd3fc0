"""Every streaming tool works in bounded memory.

Each tool reads a generated das2 stream (or its das3 conversion) written to
its stdin block by block, never held in memory, once small and once eight
times bigger; the peak resident size (``VmHWM`` of the tool's own process,
read just before it exits) must not grow with the input.  Sizes are chosen
per tool by its speed so the file stays well under a minute and a half.

Not here: ``das2_cdf`` (tests/tools/test_cdf.py) and ``das2_histo`` on
real-valued data (its output, hence its memory, is one row per distinct
value; it is checked here on quantised data, whose distinct values are few).
``das2_png`` bins into one column per pixel, so it is bounded too.
The table formats are here too: Parquet buffers one row group, NetCDF-4
spools to a temporary file, JSON/VOTable/CSV stream (``bench/bench_formats.py``
measures them on 1 GB).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.support.big_streams import GROWTH, RECORD, SLACK_BYTES, das2_blocks

pytestmark = pytest.mark.system  # measures the tools' peak memory as processes

#: Reports the tool's peak resident size (and any unread input) on stderr as it exits.
_MEASURE = """\
import sys
from dasflex_core.tools.{module} import main
code = main(sys.argv[1:])
sys.stdout.flush()
peak = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
unread = len(sys.stdin.buffer.read())
sys.stderr.write("UNREAD %d\\nPEAK %s\\n" % (unread, peak))
sys.exit(code)
"""


@dataclass(frozen=True)
class ToolCase:
    """A tool, its arguments, the small input size and how its input is made."""

    module: str
    args: tuple[str, ...]
    small_mb: float
    das3_input: bool = False
    quantised: bool = False

    @property
    def id(self) -> str:
        return " ".join((self.module, *self.args))


#: Small input sizes are past the ramp of the first tens of MB, where the
#: allocator settles (glibc raises its mmap threshold as big buffers are
#: freed, so the heap grows to a plateau): fast tools get 48 MB (big: 384 MB).
CASES = [
    ToolCase("das2_bin_avgsec", ("60",), 48.0),
    ToolCase("das2_bin_peakavgsec", ("60",), 48.0),
    ToolCase("das2_bin_avg", ("60000000",), 48.0),
    ToolCase("das2_bin_ratesec", ("60",), 96.0),
    ToolCase("das2_psd", ("1024", "1"), 48.0),
    ToolCase("das2_to_das3", (), 48.0),
    ToolCase("das2_ascii", (), 12.0),
    ToolCase("das2_histo", (), 16.0, quantised=True),
    ToolCase("das2_hapi", (), 6.0),
    ToolCase("das2_png", (), 8.0),
    ToolCase("das3_csv", (), 6.0),
    ToolCase("das3_to_das2", (), 6.0, das3_input=True),
    ToolCase("das3_text", (), 2.0, das3_input=True),
    ToolCase("das2_parquet", (), 48.0),
    ToolCase("das2_netcdf", (), 96.0),  # HDF5 caches fill up over the first ~100 MB
    ToolCase("das2_votable", (), 6.0),
    ToolCase("das2_votable", ("-b",), 12.0),
    ToolCase("das2_json", (), 6.0),
    ToolCase("das2_plaincsv", (), 2.0),
]


def _feed(pipe, blocks: Iterator[bytes]) -> None:
    try:
        for block in blocks:
            pipe.write(block)
    except BrokenPipeError:
        pass
    finally:
        try:
            pipe.close()
        except BrokenPipeError:
            pass


def peak_bytes(case: ToolCase, megabytes: float, workdir: Path) -> int:
    """Peak resident bytes of ``case``'s tool on a generated input of ``megabytes`` MB."""
    command = [sys.executable, "-c", _MEASURE.format(module=case.module), *case.args]
    log = workdir / f"{case.module}-{megabytes:g}.stderr"
    with log.open("wb") as stderr:
        if case.das3_input:
            upstream = subprocess.Popen([sys.executable, "-m", "dasflex_core.tools.das2_to_das3"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            tool = subprocess.Popen(command, stdin=upstream.stdout, stdout=subprocess.DEVNULL, stderr=stderr)
            upstream.stdout.close()  # type: ignore[union-attr]
            processes, feeder_pipe = [upstream, tool], upstream.stdin
        else:
            tool = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr)
            processes, feeder_pipe = [tool], tool.stdin
        feeder = threading.Thread(target=_feed, args=(feeder_pipe, das2_blocks(megabytes, case.quantised)))
        feeder.start()
        try:
            for process in processes:
                process.wait(timeout=120)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
            feeder.join(timeout=30)
    report = log.read_text(errors="replace")
    assert [process.returncode for process in processes] == [0] * len(processes), report
    assert "UNREAD 0\n" in report, f"{case.module} did not read all of its input: {report}"
    return int(report.split("PEAK ")[-1]) * 1024


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_peak_memory_does_not_grow_with_input(case: ToolCase, tmp_path: Path) -> None:
    small = peak_bytes(case, case.small_mb, tmp_path)
    big = peak_bytes(case, case.small_mb * GROWTH, tmp_path)
    assert big <= small + SLACK_BYTES, (
        f"{case.id}: peak {big / 1e6:.1f} MB on {case.small_mb * GROWTH:g} MB of input vs "
        f"{small / 1e6:.1f} MB on {case.small_mb:g} MB"
    )


def test_generated_stream_is_what_the_tools_read() -> None:
    """The generator's bytes form a valid das2 stream of the promised size."""
    from dasflex_core.codecs.das2_reader import read_all
    from dasflex_core.codecs.events import DataRun

    data = b"".join(das2_blocks(2.0, quantised=True))
    assert 1.9e6 < len(data) < 2.2e6
    runs = [event for event in read_all(data) if isinstance(event, DataRun)]
    records = sum(len(run.records) for run in runs)
    assert records == len(data) // RECORD.itemsize
    values = np.concatenate([run.records["yscan1"].ravel() for run in runs])
    assert np.array_equal(values, np.rint(values)) and len(np.unique(values)) < 64
