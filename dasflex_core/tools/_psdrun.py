"""Run :class:`PsdStream` from stdin to stdout."""

from __future__ import annotations

from typing import BinaryIO

from dasflex_core.codecs.das2_reader import Das2Reader
from dasflex_core.tools._binio import EventPipeline, read_batched
from dasflex_core.tools._common import Output
from dasflex_core.tools._psdstream import PsdConfig, PsdStream


def psd_stdin(config: PsdConfig, source: BinaryIO | None = None, sink: BinaryIO | None = None) -> int:
    """Transform the das2 stream on ``source`` (stdin) to ``sink`` (stdout); return 0.

    Input is parsed on this thread while the spectra are computed on another;
    an exception packet in the input ends the stream (as in das2C).
    """
    output = Output(sink)
    stream = PsdStream(config, output.write)
    reader = Das2Reader()
    pipeline = EventPipeline(stream.handle)
    try:
        try:
            for chunk in read_batched(source):
                pipeline.put(reader.feed(chunk))
                if stream.stopped:
                    break
            if not stream.stopped:
                pipeline.put(reader.close())
        finally:
            pipeline.close()
        stream.finish()
    finally:
        output.flush()
    return 0
