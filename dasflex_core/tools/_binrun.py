"""Run a :class:`StreamBinner` from stdin to stdout."""

from __future__ import annotations

from typing import BinaryIO

from dasflex_core.codecs.das2_reader import Das2Reader
from dasflex_core.tools._binio import EventPipeline, read_batched
from dasflex_core.tools._binstream import BinnerConfig, StreamBinner
from dasflex_core.tools._common import Output


def bin_stdin(config: BinnerConfig, source: BinaryIO | None = None, sink: BinaryIO | None = None) -> int:
    """Bin the das2 stream on ``source`` (stdin) to ``sink`` (stdout); return 0.

    Input is parsed on this thread while the binner works on another.
    """
    output = Output(sink)
    binner = StreamBinner(config, output.write)
    reader = Das2Reader()
    pipeline = EventPipeline(binner.handle)
    try:
        try:
            for chunk in read_batched(source):
                pipeline.put(reader.feed(chunk))
            pipeline.put(reader.close())
        finally:
            pipeline.close()
        binner.finish()
    finally:
        output.flush()
    return 0
