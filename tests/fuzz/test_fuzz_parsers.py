"""Hypothesis fuzzing: only the documented error type ever escapes a parser.

das2 and das3 readers raise :class:`StreamError`, the time parser
:class:`TimeError`, the DSDF parser :class:`DefinitionError`, template
compilation :class:`DefinitionError` and rendering :class:`QueryError`.
Inputs are random bytes and mutations of the conformance streams.  Normal
runs use a few examples each; ``nox -s fuzz`` sets ``DASFLEX_FUZZ_EXAMPLES``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dasflex_core.errors import DefinitionError, QueryError, StreamError, TimeError

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("DASFLEX_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize="DASFLEX_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SEED_LIMIT = 20_000
DAS2_SEEDS = ("syn_deflate.d2s", "syn_binary_mixed.d2s", "syn_epochs.d2s", "das2_ascii_input1.d2s")
DAS3_SEEDS = ("reject_rank3_noterm.d3t", "ex38_wbr_wfrm_tags.d3b", "ex37_wide_fixed_utf8.d3t",
              "ex34_ragged_fixstr.d3b", "ex12_sounder_xyz.d3t")


def seeds(folder: Path, names: tuple[str, ...]) -> list[bytes]:
    found = [(folder / name).read_bytes()[:SEED_LIMIT] for name in names if (folder / name).is_file()]
    assert found, f"no seed streams in {folder}"
    return found


@st.composite
def mutated(draw: st.DrawFn, corpus: list[bytes]) -> bytes:
    """A seed stream with random bytes replaced, inserted, deleted or cut off."""
    data = bytearray(draw(st.sampled_from(corpus)))
    for _ in range(draw(st.integers(0, 6))):
        if not data:
            break
        where = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(("set", "insert", "delete", "cut", "digit")))
        if action == "set":
            data[where] = draw(st.integers(0, 255))
        elif action == "insert":
            data[where:where] = draw(st.binary(max_size=16))
        elif action == "delete":
            del data[where:where + draw(st.integers(1, 64))]
        elif action == "digit":
            data[where] = draw(st.sampled_from(b"0123456789[]:<>|"))
        else:
            del data[where:]
    return bytes(data)


def chunk_sizes() -> st.SearchStrategy[int]:
    return st.sampled_from((1, 3, 7, 64, 4096, 1 << 20))


def read_das2(data: bytes, chunk: int) -> None:
    from dasflex_core.codecs.das2 import Das2Reader

    reader = Das2Reader()
    for start in range(0, len(data), chunk):
        reader.feed(data[start:start + chunk])
    reader.close()


def read_das3(data: bytes, chunk: int) -> None:
    from dasflex_core.codecs.das3 import read_all

    read_all(data, chunk)


def only(error_type: type[Exception], action: object, *args: object) -> None:
    try:
        action(*args)  # type: ignore[operator]
    except error_type:
        pass


@FUZZ
@given(data=st.data(), chunk=chunk_sizes())
def test_das2_reader(conformance_dir: Path, data: st.DataObject, chunk: int) -> None:
    corpus = seeds(conformance_dir / "das2", DAS2_SEEDS)
    stream = data.draw(st.one_of(mutated(corpus), st.binary(max_size=512),
                                 st.builds(lambda tail: b"[00]" + tail, st.binary(max_size=64))))
    only(StreamError, read_das2, stream, chunk)


@FUZZ
@given(data=st.data(), chunk=chunk_sizes())
def test_das3_reader(conformance_dir: Path, data: st.DataObject, chunk: int) -> None:
    corpus = seeds(conformance_dir / "das3", DAS3_SEEDS)
    stream = data.draw(st.one_of(mutated(corpus), st.binary(max_size=512),
                                 st.builds(lambda tail: b"|Sx||" + tail, st.binary(max_size=64))))
    only(StreamError, read_das3, stream, chunk)


TIME_ALPHABET = st.sampled_from(list("0123456789-:.TZtz /+,_eE") + ["jan", "Feb", "doy", "now"])


@FUZZ
@given(text=st.one_of(st.text(max_size=40), st.lists(TIME_ALPHABET, max_size=20).map("".join)))
def test_time_parser(text: str) -> None:
    from dasflex_core.dastime import parse_time, parse_us2000

    only(TimeError, parse_time, text)
    only(TimeError, parse_us2000, text)


DSDF_LINES = st.sampled_from([
    "description = 'x'", "reader = '$(PYTHON) r.py'", "das2Stream = 1", "readAccess = 'GROUP:g'",
    "validRange = '2020 to 2021'", "param_00 = 'a | b'", "exampleRange_00 = '2020 to 2021'",
    "item_00 = 'v | V | V'", "coord_00 = 'time | Time | UTC'", "cacheLevel_00 = '1 s | daily'",
    "server = 'http://x'", "key = 'unterminated", "  continued'", "[section]", "= 3",
    "securityRealm = 'r'", "not_reducible = 1", "hapi = yes", "readAccess = 'AGE:x'",
])


@FUZZ
@given(lines=st.lists(st.one_of(DSDF_LINES, st.text(max_size=40)), max_size=12))
def test_dsdf_parser(lines: list[str]) -> None:
    from dasflex_core.sources.dsdf import parse_dsdf_text, to_source

    def parse() -> None:
        to_source(parse_dsdf_text("\n".join(lines), "fuzz.dsdf"), "Fuzz/Source")

    only(DefinitionError, parse)


TEMPLATE_PIECES = st.sampled_from(["#[", "]", "#", "@", "a", "read.opts", "(", ")", "|", " ",
                                   "key", "-x", "#[a # -a @ #]", "#[b(,|k|=) # @ #]", "\\"])


@FUZZ
@given(pieces=st.lists(st.one_of(TEMPLATE_PIECES, st.text(max_size=8)), min_size=1, max_size=14),
       values=st.dictionaries(st.sampled_from(["a", "b", "key", "read.opts"]), st.text(max_size=12)))
def test_template_renderer(pieces: list[str], values: dict[str, str]) -> None:
    from dasflex_core.templates import compile_template

    try:
        template = compile_template("".join(pieces), "fuzz.dsdf")
    except DefinitionError:
        return
    only(QueryError, template.render, values)
