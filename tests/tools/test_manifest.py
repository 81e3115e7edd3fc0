"""Run the das2C conformance manifest against our stream tools.

Every row of ``manifest.tsv`` whose programs are all implemented by a module
in ``dasflex_core/tools/`` is run in its directory with ``LC_ALL=C TZ=UTC``
and our console scripts first on ``PATH``; stdout must equal the stored
das2C output byte for byte (PSD rows: numbers within 1e-5 relative) and the
command must succeed or fail as das2C did.  Rows whose programs are not
implemented yet are not collected.

A few rows record das2C *crashing*; there we deliberately do the right thing
instead (see docs/tools.md) and check that behaviour (:data:`DEVIATIONS`).
"""

from __future__ import annotations

import csv
import importlib.util
import math
import os
import re
import shlex
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import CONFORMANCE_DIR

BIN_DIR = Path(sys.executable).parent
#: Console scripts whose module name differs from the program name.
MODULE_OF_PROGRAM = {"das2_csv": "das3_csv"}
#: Tools may take a while on the larger vectors, but must never hang.
TIMEOUT_SECONDS = 300
_NUMBER = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


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
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert result.stdout.startswith(partial)
    assert result.stdout.count(b'"values"') > partial.count(b'"values"')


#: Rows where das2C crashes and we deliberately behave correctly instead.
DEVIATIONS: dict[str, Callable[[Row, Path, subprocess.CompletedProcess], None]] = {
    "das2_ascii < syn_deflate.d2s": _check_deflate_decoded,
    "das2_bin_avgsec 60 < syn_deflate.d2s": _check_deflate_decoded,
    "das3_csv < notimp_zero_subrun.d3b": _check_zero_runs_supported,
}


@pytest.mark.conformance
@pytest.mark.parametrize("row", _collected_rows(), ids=lambda row: row.id)
def test_manifest_row(row: Row, conformance_dir: Path) -> None:
    directory = conformance_dir / row.directory
    result = run_command(row.command, directory)
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
