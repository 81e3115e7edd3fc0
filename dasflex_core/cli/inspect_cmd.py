"""``dasflex inspect``: a JSON summary of a das2 or das3 stream.

Prints the stream version, each packet definition, record counts per packet
id, the first (earliest) and last (latest) time, ISO 8601, over packets whose
x coordinate is a time, and the comments and exceptions.  An invalid stream prints one line
(what failed, at which byte) to stderr and exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO

from dasflex_core.cli.common import add_command, fail
from dasflex_core.codecs.summary import summarize
from dasflex_core.errors import DasFlexError

_CHUNK = 1 << 20


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``inspect`` subcommand."""
    parser = add_command(
        subparsers, "inspect",
        description="Read a das2 or das3 stream and print a JSON summary: version, packet "
        "definitions, record counts, time range, comments and exceptions.  Exit status 1 "
        "(with one line on stderr) if the stream is invalid.",
    )
    parser.add_argument("file", metavar="FILE", help="stream file, or - for standard input")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Inspect ``args.file``; print the summary or the error."""
    try:
        if args.file == "-":
            summary = inspect_stream(sys.stdin.buffer)
        else:
            with open(args.file, "rb") as stream:
                summary = inspect_stream(stream)
    except OSError as exc:
        return fail("inspect", f"{args.file}: {exc.strerror or exc}")
    except DasFlexError as exc:
        return fail("inspect", f"{args.file}: invalid stream: {exc}")
    print(json.dumps(summary, indent=2))
    return 0


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    while chunk := stream.read(_CHUNK):
        yield chunk


def inspect_stream(stream: BinaryIO) -> dict[str, Any]:
    """Read a whole stream and return its summary (raises StreamError if invalid)."""
    return summarize(_chunks(stream)).result()
