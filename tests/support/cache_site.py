"""The cache tests' site: one source with cache levels and a scriptable reader."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from tests.support.paths import EXAMPLE_READERS as READERS_DIR

#: A reader with one record a minute (value = hours since 2000), and options
#: that make it fail, stall or report no data, for the builder's tests.
READER_SCRIPT = textwrap.dedent(f"""\
    import sys, time
    sys.path.insert(0, {str(READERS_DIR)!r})
    import das2out
    import numpy as np

    HEADER = '<packet><x type="little_endian_real8" units="us2000" />' \\
             '<y type="little_endian_real8" name="hours" units="" /></packet>'

    def main(argv):
        begin, end, options = das2out.read_range(argv, "reader BEGIN END [opts]")
        out = sys.stdout.buffer
        out.write(das2out.stream_header([("title", "test")]))
        if "empty" in options:
            out.write(das2out.no_data(begin, end))
            return
        times = das2out.time_grid(begin, end, 60e6)
        out.write(das2out.packet("[01]", HEADER))
        half = len(times) // 2
        out.write(das2out.data_packets(1, [("<f8", times[:half]), ("<f8", times[:half] / 3.6e9)]))
        out.flush()
        if "fail" in options:
            sys.stderr.write("reader broke\\n")
            raise SystemExit(3)
        if "slow" in options:
            time.sleep(15)
        out.write(das2out.data_packets(1, [("<f8", times[half:]), ("<f8", times[half:] / 3.6e9)]))

    das2out.run(main)
""")

DSDF_TEXT = """\
description = 'cache test source'
reader = '{python} {reader}'
das2Stream = 1
param_00 = 'fail | Fail half way'
param_01 = 'slow | Stall half way'
param_02 = 'empty | Report no data'
validRange = '2020-01-01 to 2020-03-01'
cacheLevel_00 = '60 s | daily'
cacheLevel_01 = '1 h | monthly'
cacheLevel_02 = 'intrinsic | hourly'
cacheLevel_03 = '60 s | daily | fail'
cacheLevel_04 = 'intrinsic | daily | slow'
cacheLevel_05 = '60 s | daily | empty'
cacheLevel_06 = '10 min | daily | -x 1 -a'
"""


def make_site(root: Path) -> Path:
    """Write the test site (``Test/Minutes``) below ``root``; return the site directory."""
    site = root / "site"
    (site / "Test").mkdir(parents=True, exist_ok=True)
    reader = root / "minutes_reader.py"
    reader.write_text(READER_SCRIPT)
    text = DSDF_TEXT.format(python=sys.executable, reader=reader)
    (site / "Test" / "Minutes.dsdf").write_text(text)
    return site
