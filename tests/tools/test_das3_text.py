"""``das3_text`` against das2C's gold outputs (byte for byte)."""

from __future__ import annotations

import csv
import shlex
from pathlib import Path

import pytest

from dasflex_core.tools import das3_text

#: Gold outputs we knowingly differ from: das2C aborts on zero-length runs
#: ("not implemented", exit 8) where we print them.
KNOWN_DIFFERENCES = {
    "notimp_zero_subrun.d3b.text.expected", "notimp_zero_subrun.d3b.text-s3-r4.expected",
}


def _gold_names() -> list[str]:
    """das3_text rows of the manifest (empty when ../shared is absent)."""
    from tests.support.paths import CONFORMANCE_DIR

    manifest = CONFORMANCE_DIR / "manifest.tsv"
    if not manifest.is_file():
        return ["(conformance vectors absent)"]
    with manifest.open(newline="") as handle:
        names = [row[2] for row in csv.reader(handle, delimiter="\t")
                 if len(row) > 3 and row[1].startswith("das3_text")]
    return [name for name in names if name not in KNOWN_DIFFERENCES]


def _manifest(conformance_dir: Path) -> dict[str, tuple[Path, list[str], Path, int]]:
    rows = {}
    with (conformance_dir / "manifest.tsv").open(newline="") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if len(row) < 4 or not row[1].startswith("das3_text"):
                continue
            command, _, infile = row[1].partition("<")
            folder = conformance_dir / row[0]
            rows[row[2]] = (folder / infile.strip(), shlex.split(command)[1:], folder / row[2],
                            int(row[3]))
    return rows


@pytest.mark.parametrize("expected_name", _gold_names())
def test_das3_text_matches_das2c(conformance_dir: Path, expected_name: str,
                                 capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    infile, args, expected, das2c_status = _manifest(conformance_dir)[expected_name]
    status = das3_text.main([*args, str(infile)])
    captured = capsysbinary.readouterr()
    assert captured.out == expected.read_bytes()
    assert (status == 0) == (das2c_status == 0), captured.err


def test_embedded_images_are_refused_unless_flattened(
        conformance_dir: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    infile = conformance_dir / "das3" / "ex28_epop_fai_mgf_img.d3b"
    assert das3_text.main([str(infile)]) == 1
    assert b"embedded 'image/png'" in capsysbinary.readouterr().err
    assert das3_text.main(["-f", str(infile)]) == 0
    assert capsysbinary.readouterr().out.count(b"|Pd|") == 7


def test_das2_input_needs_the_upconvert_option(
        conformance_dir: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    infile = conformance_dir / "das2" / "x_multi_y.d2s"
    assert das3_text.main([str(infile)]) != 0
    assert b"-3" in capsysbinary.readouterr().err


def test_drop_comments_option(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    from dasflex_core.codecs.das3 import encode_comment, encode_packet

    stream = encode_packet("Sx", None, b'<stream type="das-basic-stream" version="3.0"/>')
    path = tmp_path / "in.d3b"
    path.write_bytes(stream + encode_comment("log:info", "t", "hello"))
    assert das3_text.main([str(path)]) == 0
    assert b"hello" in capsysbinary.readouterr().out
    assert das3_text.main(["-c", str(path)]) == 0
    assert b"hello" not in capsysbinary.readouterr().out
