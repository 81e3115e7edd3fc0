"""Run :class:`PsdStream` from stdin to stdout."""

from __future__ import annotations

from typing import BinaryIO

from dasflex_core.tools._binio import run_pipelined
from dasflex_core.tools._psdstream import PsdConfig, PsdStream


def psd_stdin(config: PsdConfig, source: BinaryIO | None = None, sink: BinaryIO | None = None) -> int:
    """Transform the das2 stream on ``source`` (stdin) to ``sink`` (stdout); return 0.

    Input is parsed on this thread while the spectra are computed on another;
    an exception packet in the input ends the stream (as in das2C).
    """
    return run_pipelined(lambda write: PsdStream(config, write), source, sink)
