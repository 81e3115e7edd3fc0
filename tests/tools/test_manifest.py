"""Run the das2C conformance manifest against our stream tools.

Every row of ``manifest.tsv`` whose programs are all implemented by a module
in ``dasflex_core/tools/`` is run in its directory with ``LC_ALL=C TZ=UTC``
and our console scripts first on ``PATH``; stdout must equal the stored
das2C output byte for byte (PSD rows: numbers within 1e-5 relative) and the
command must succeed or fail as das2C did.  Rows whose programs are not
implemented yet are not collected.

A few rows record a das2C bug (a crash, or a documented wrong value); there
we deliberately do the right thing instead (see docs/tools.md) and check
precisely that the output differs only by the fix (:data:`DEVIATIONS`).

The rows run concurrently in a thread pool (one subprocess pipeline each),
started when the first row is collected; each test waits for its own row.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import os
import re
import shlex
import subprocess
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.support.paths import BIN_DIR, CONFORMANCE_DIR

#: Console scripts whose module name differs from the program name.
MODULE_OF_PROGRAM = {"das2_csv": "das3_csv"}
#: Tools may take a while on the larger vectors, but must never hang.
TIMEOUT_SECONDS = 300
#: Pipelines run at once (each is mostly one or two Python processes).
PARALLEL_ROWS = max(2, os.cpu_count() or 2)
_NUMBER = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")

pytestmark = pytest.mark.system  # every row runs a pipeline of tool processes


@dataclass(frozen=True)
class Row:
    """One manifest row."""

    directory: str
    command: str
    stdout_file: str
    exit_code: int

    @property
    def programs(self) -> list[str]:
        """The program of every pipeline stage."""
        stages = self.command.split("|")
        return [shlex.split(stage)[0] for stage in stages if stage.strip()]

    @property
    def input_file(self) -> str:
        """The file redirected to stdin."""
        return shlex.split(self.command.split("<", 1)[1])[0]

    @property
    def id(self) -> str:
        return f"{self.directory}/{self.stdout_file.removesuffix('.expected')}"


def _implemented(program: str) -> bool:
    module = MODULE_OF_PROGRAM.get(program, program)
    try:
        return importlib.util.find_spec(f"dasflex_core.tools.{module}") is not None
    except ImportError:
        return False


def _manifest_rows() -> list[Row]:
    manifest = CONFORMANCE_DIR / "manifest.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [
            Row(item["dir"], item["command"], item["stdout_file"], int(item["exit_code"]))
            for item in reader
        ]


def _collected_rows() -> list[Row]:
    return [row for row in _manifest_rows() if all(map(_implemented, row.programs))]


def run_command(command: str, directory: Path, stdin_bytes: bytes | None = None) -> subprocess.CompletedProcess:
    """Run a manifest command line the way the vectors were produced."""
    env = dict(os.environ, LC_ALL="C", TZ="UTC", PATH=f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run(
        ["bash", "-c", command],
        cwd=directory,
        env=env,
        input=stdin_bytes,
        capture_output=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def _numbers_close(ours: bytes, theirs: bytes, tolerance: float = 1e-5) -> bool:
    """Equal except for numbers that differ by at most ``tolerance`` relative."""
    our_numbers = _NUMBER.findall(ours)
    their_numbers = _NUMBER.findall(theirs)
    if _NUMBER.sub(b"#", ours) != _NUMBER.sub(b"#", theirs):
        return False
    if len(our_numbers) != len(their_numbers):
        return False
    for mine, reference in zip(our_numbers, their_numbers, strict=True):
        if mine == reference:
            continue
        if not math.isclose(float(mine), float(reference), rel_tol=tolerance, abs_tol=1e-30):
            return False
    return True


def _numbers_close_with_headers(ours: bytes, theirs: bytes) -> bool:
    """PSD text: header lengths may differ only through number digits."""
    strip_lengths = re.compile(rb"\[(\d\d|xx)\]\d{6}")
    return _numbers_close(strip_lengths.sub(b"[H]", ours), strip_lengths.sub(b"[H]", theirs))


def _inflated_das2(path: Path) -> bytes:
    """A ``compression="deflate"`` das2 stream rewritten uncompressed."""
    data = path.read_bytes()
    length = int(data[4:10])
    header = data[10 : 10 + length].replace(b'compression="deflate"', b'compression="none"')
    body = zlib.decompress(data[10 + length :])
    return b"[00]%06d" % len(header) + header + body


def _check_deflate_decoded(row: Row, directory: Path, result: subprocess.CompletedProcess) -> None:
    """das2C crashes on deflate input; we must decode it like the inflated stream."""
    program = re.sub(r"<\s*\S+", "", row.command)
    reference = run_command(program, directory, _inflated_das2(directory / row.input_file))
    assert reference.returncode == 0, reference.stderr.decode(errors="replace")
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert result.stdout == reference.stdout
    assert b'compression="none"' in result.stdout[:200]


def _check_zero_runs_supported(row: Row, directory: Path, result: subprocess.CompletedProcess) -> None:
    """das2C stops at zero-length ragged runs ("not implemented"); we print every record."""
    partial = (directory / row.stdout_file).read_bytes()
    marker = b'"values"' if row.programs[0] == "das3_csv" else b"|Pd|"
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert result.stdout.startswith(partial)
    assert result.stdout.count(marker) > partial.count(marker)


def _check_empty_bins_zero(row: Row, directory: Path, result: subprocess.CompletedProcess) -> None:
    """das2C writes 1.0 for empty bins in ``-e`` mode (research §8 #8); we write 0.0.

    Same bytes except those rate values: every difference is ours 0.0 vs
    das2C 1.0, in a bin the plain count mode reports empty.
    """
    from dasflex_core.codecs.das2_reader import read_all
    from dasflex_core.codecs.events import DataRun

    assert result.returncode == 0, result.stderr.decode(errors="replace")
    expected = (directory / row.stdout_file).read_bytes()
    assert len(result.stdout) == len(expected)
    ours, theirs = read_all(result.stdout), read_all(expected)
    assert [type(event) for event in ours] == [type(event) for event in theirs]
    counts_run = run_command(row.command.replace("-e ", "", 1), directory)
    counts = [e.records for e in read_all(counts_run.stdout) if isinstance(e, DataRun)]
    runs = [(mine.records, reference.records) for mine, reference in zip(ours, theirs, strict=True)
            if isinstance(mine, DataRun) and isinstance(reference, DataRun)]
    assert len(runs) == len(counts)
    for mine, reference in zip(ours, theirs, strict=True):
        if not isinstance(mine, DataRun):
            assert getattr(mine, "raw", None) == getattr(reference, "raw", None)
    differing = 0
    for (my_records, their_records), count in zip(runs, counts, strict=True):
        for name in my_records.dtype.names or ():
            changed = my_records[name] != their_records[name]
            assert np.all(my_records[name][changed] == 0.0)
            assert np.all(their_records[name][changed] == 1.0)
            assert np.all(count[name][changed] == 0.0)
            differing += int(changed.sum())
    assert differing > 0, "the documented das2C deviation is gone: drop this DEVIATIONS entry"


def _check_first_spectrum_scaled(row: Row, directory: Path, result: subprocess.CompletedProcess) -> None:
    """das2C leaves the first spectrum after each packet header unscaled
    (off by N x dt = 1 / yTagInterval); we scale it.  All else must agree."""
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    ours = result.stdout.splitlines()
    theirs = (directory / row.stdout_file).read_bytes().splitlines()
    assert len(ours) == len(theirs)
    interval: dict[bytes, float] = {}
    unscaled: set[bytes] = set()
    header_id = b""
    scaled_rows = 0
    for mine, reference in zip(ours, theirs, strict=True):
        packet = re.match(rb"^\[(\d\d)\]", reference)
        if packet:
            header_id = packet.group(1)
            unscaled.add(header_id)
        found = re.search(rb'yTagInterval="([^"]+)"', reference)
        if found:
            interval[header_id] = float(found.group(1))
        data = re.match(rb"^:(\d\d):", reference)
        if data and data.group(1) in unscaled:
            unscaled.discard(data.group(1))
            scale = 1.0 / interval[data.group(1)]
            assert not math.isclose(scale, 1.0, rel_tol=1e-2)
            assert _scaled_row(mine, reference, scale), (mine[:120], reference[:120])
            scaled_rows += 1
        else:
            assert _numbers_close_with_headers(mine, reference), (mine[:120], reference[:120])
    assert scaled_rows > 0


def _scaled_row(ours: bytes, theirs: bytes, scale: float) -> bool:
    """A ``:NN:<time> v v v`` row whose values are das2C's times ``scale``."""
    mine, reference = ours.split(), theirs.split()
    if len(mine) != len(reference) or mine[0] != reference[0]:
        return False
    return all(
        math.isclose(float(value), float(base) * scale, rel_tol=2e-5, abs_tol=1e-30)
        for value, base in zip(mine[1:], reference[1:], strict=True)
    )


def _check_header_only_succeeds(row: Row, directory: Path, result: subprocess.CompletedProcess) -> None:
    """das2C exits 100 after ``-i -n`` (research §8 #25); same output, we exit 0."""
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert row.exit_code == 100
    assert result.stdout == (directory / row.stdout_file).read_bytes()


#: Rows where das2C crashes or has a documented bug and we deliberately
#: behave correctly instead (each listed in docs/tools.md).
DEVIATIONS: dict[str, Callable[[Row, Path, subprocess.CompletedProcess], None]] = {
    "das2_ascii < syn_deflate.d2s": _check_deflate_decoded,
    "das2_bin_avgsec 60 < syn_deflate.d2s": _check_deflate_decoded,
    "das3_csv < notimp_zero_subrun.d3b": _check_zero_runs_supported,
    "das3_text < notimp_zero_subrun.d3b": _check_zero_runs_supported,
    "das3_text -s 3 -r 4 < notimp_zero_subrun.d3b": _check_zero_runs_supported,
    "das2_bin_ratesec -e -b 2013-03-01 3600 < das2_ascii_input1.d2s": _check_empty_bins_zero,
    "das2_psd 16 1 < syn_epochs.d2s | das2_ascii -r 6": _check_first_spectrum_scaled,
    "das2_psd -d -j 0.05 64 2 < das2_bin_avgsec_input2.d2s | das2_ascii -r 6":
        _check_first_spectrum_scaled,
    "das2_hapi -i -n < das2_bin_avgsec_input2.d2s": _check_header_only_succeeds,
}


class _RowRunner:
    """Runs every collected row in a thread pool, first come first started."""

    def __init__(self, directory: Path, rows: list[Row]) -> None:
        self._pool = ThreadPoolExecutor(max_workers=PARALLEL_ROWS)
        self._futures: dict[Row, Future] = {
            row: self._pool.submit(run_command, row.command, directory / row.directory) for row in rows
        }

    def result(self, row: Row) -> subprocess.CompletedProcess:
        return self._futures[row].result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def row_results(conformance_dir: Path, request: pytest.FixtureRequest):
    """Start the selected rows (``-k`` and friends respected) all at once."""
    selected = [
        item.callspec.params["row"] for item in request.session.items
        if hasattr(item, "callspec") and isinstance(item.callspec.params.get("row"), Row)
    ]
    runner = _RowRunner(conformance_dir, selected)
    yield runner
    runner.close()


@pytest.mark.conformance
@pytest.mark.parametrize("row", _collected_rows(), ids=lambda row: row.id)
def test_manifest_row(row: Row, conformance_dir: Path, row_results: _RowRunner) -> None:
    directory = conformance_dir / row.directory
    result = row_results.result(row)
    stderr = result.stderr.decode(errors="replace").strip()
    deviation = DEVIATIONS.get(row.command)
    if deviation is not None:
        deviation(row, directory, result)
        return
    expected = (directory / row.stdout_file).read_bytes()
    if row.exit_code == 0:
        assert result.returncode == 0, f"failed where das2C succeeds: {stderr}"
    else:
        assert result.returncode != 0, "succeeded where das2C fails"
        assert stderr, "a failure must say why on stderr"
        assert len(stderr.splitlines()) == 1, f"expected one stderr line, got: {stderr}"
    if ".psd" in row.stdout_file and "ascii" in row.stdout_file:
        assert _numbers_close_with_headers(result.stdout, expected)
    else:
        assert result.stdout == expected, _first_difference(result.stdout, expected)


def _first_difference(ours: bytes, theirs: bytes) -> str:
    """Where two outputs first differ, for the assertion message."""
    for index, (mine, reference) in enumerate(zip(ours, theirs, strict=False)):
        if mine != reference:
            start = max(0, index - 60)
            return f"first difference at byte {index}: ours {ours[start:index + 60]!r} vs das2C {theirs[start:index + 60]!r}"
    return f"lengths differ: ours {len(ours)} bytes, das2C {len(theirs)} bytes"


def test_manifest_rows_are_parsed(conformance_dir: Path) -> None:
    rows = _manifest_rows()
    assert len(rows) > 150
    assert all(row.programs for row in rows)
    assert any(row.programs == ["das2_bin_avgsec", "das2_ascii"] for row in rows)


def test_numbers_close_tolerates_last_digits_only() -> None:
    assert _numbers_close(b"a 1.000000e+00 b", b"a 1.000001e+00 b")
    assert not _numbers_close(b"a 1.0e+00 b", b"a 1.1e+00 b")
    assert not _numbers_close(b"a 1.0e+00 b", b"c 1.0e+00 b")
