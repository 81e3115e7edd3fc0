"""``dasflex time``: parse time strings the way dasflex (and das2C) does.

One line per input, tab separated::

    INPUT  YYYY-MM-DDTHH:MM:SS.fffffffff  US2000  TT2000

with us2000 to three decimals and TT2000 as an integer (the CDF "illegal"
marker outside 1707..2292), or ``INPUT  ERROR  reason``.  The calendar
fields are shown as parsed (``23:59:60`` stays 60).  Exit status 1 when any
input was not a time.
"""

from __future__ import annotations

import argparse
import sys

from dasflex_core.cli.common import add_command
from dasflex_core.dastime import parse_time, to_tt2000, to_us2000
from dasflex_core.errors import DasFlexError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``time`` subcommand."""
    parser = add_command(
        subparsers, "time",
        description="Parse each STRING as a time (das2C parsetime rules plus HAPI ISO 8601) "
        "and print INPUT, the ISO time to nanoseconds, us2000 and TT2000, tab separated, "
        "or INPUT, ERROR and the reason.  Exit status 1 if any input is invalid.",
    )
    parser.add_argument("strings", metavar="STRING", nargs="+", help="a time string")
    parser.set_defaults(run=run)


def describe(text: str) -> tuple[str, bool]:
    """The output line for one input (without newline) and whether it parsed."""
    try:
        parsed = parse_time(text)
        return f"{text}\t{parsed}\t{to_us2000(parsed):.3f}\t{to_tt2000(parsed)}", True
    except DasFlexError as exc:
        return f"{text}\tERROR\t{exc}", False


def run(args: argparse.Namespace) -> int:
    """Print one line per input string; 1 if any failed to parse."""
    all_ok = True
    for text in args.strings:
        line, ok = describe(text)
        all_ok &= ok
        sys.stdout.write(line + "\n")
    sys.stdout.flush()
    return 0 if all_ok else 1
