"""Run a :class:`StreamBinner` from stdin to stdout."""

from __future__ import annotations

from typing import Any, BinaryIO

from dasflex_core.tools._binio import run_pipelined
from dasflex_core.tools._binstream import BinnerConfig, StreamBinner


def time_binner(program: str, args: Any, **settings: Any) -> BinnerConfig:
    """The config of a time binner: ``args.bin_seconds`` wide bins from ``args.begin``."""
    from dasflex_core.dastime import parse_us2000

    origin = None if args.begin is None else parse_us2000(args.begin)
    return BinnerConfig(program=program, width=args.bin_seconds * 1.0e6, origin=origin, **settings)


def bin_stdin(config: BinnerConfig, source: BinaryIO | None = None, sink: BinaryIO | None = None) -> int:
    """Bin the das2 stream on ``source`` (stdin) to ``sink`` (stdout); return 0.

    Input is parsed on this thread while the binner works on another.
    """
    return run_pipelined(lambda write: StreamBinner(config, write), source, sink)
