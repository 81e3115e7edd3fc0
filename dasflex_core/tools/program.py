"""What every stream tool program shares: its command line and its exit status.

A program is a ``main(argv=None) -> int`` that builds a :class:`ToolParser`,
then hands its work to :func:`run_tool`, which turns every failure into one
clear stderr line and a non-zero exit status::

    def main(argv=None):
        parser = ToolParser("das2_ascii", "Convert a das2 stream to text.")
        parser.add_argument("-r", type=int_in_range(2, 18), ...)
        return run_tool(parser, argv, convert)

This module is light (no numpy, no codecs): a program imports it at start-up
and its tool family (:mod:`dasflex_core.tools.binning`, ``.text``, ...) only
when it runs, so ``--help`` and usage errors answer at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from dasflex_core.errors import DasFlexError, QueryError

#: Exit status for success.
EXIT_OK = 0
#: Exit status for a bad stream or a failure while processing it.
EXIT_FAILURE = 1
#: Exit status for bad command line options.
EXIT_USAGE = 2
#: Exit status after an interrupt (128 + SIGINT).
EXIT_INTERRUPTED = 130


class UsageError(QueryError):
    """A command line option or argument is invalid."""


class ToolParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors raise :class:`UsageError`.

    argparse normally prints the usage and exits; tools instead report one
    line (``PROG: error: MESSAGE``) through :func:`run_tool`.
    """

    def __init__(self, prog: str, description: str, epilog: str | None = None) -> None:
        super().__init__(
            prog=prog,
            description=description,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    def error(self, message: str) -> NoReturn:
        """Raise instead of printing the usage and exiting."""
        raise UsageError(message)


def int_in_range(minimum: int, maximum: int) -> Callable[[str], int]:
    """An argparse ``type`` accepting integers in ``[minimum, maximum]``."""

    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"{value} is out of range, expected {minimum} to {maximum}"
            )
        return value

    return parse


def positive_float(text: str) -> float:
    """An argparse ``type`` accepting a finite number greater than zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not (value > 0.0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"{text} must be a finite number greater than 0")
    return value


def add_time_bin_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``-b BEGIN`` option of the time binners (the positional BIN_SECONDS
    is added by :func:`add_bin_seconds`, after the tool's own options)."""
    parser.add_argument("-b", dest="begin", metavar="BEGIN",
                        help="start bin 0 at this time instead of at the first data time")


def add_bin_seconds(parser: argparse.ArgumentParser) -> None:
    """The positional BIN_SECONDS of the time binners."""
    parser.add_argument("bin_seconds", type=positive_float, metavar="BIN_SECONDS",
                        help="width of the time bins in seconds")


def add_text_options(parser: argparse.ArgumentParser, text_help: str, max_digits: int,
                     reals: str) -> None:
    """The ``-t`` (write text), ``-r N`` and ``-s N`` options of the stream converters.

    ``-r`` takes 2 to ``max_digits`` significant digits of ``reals``; ``-s``
    0 to 9 fractional seconds digits (None when not given: the encoder's 3).
    """
    parser.add_argument("-t", "--text", action="store_true", help=text_help)
    parser.add_argument("-r", dest="digits", type=int_in_range(2, max_digits), metavar="N",
                        help=f"with -t: significant digits of {reals}")
    parser.add_argument("-s", dest="time_decimals", type=int_in_range(0, 9), metavar="N",
                        help="with -t: fractional seconds digits of times (default 3)")


def add_table_text_options(parser: argparse.ArgumentParser) -> None:
    """The ``-s N`` and ``-r N`` options of the table formats written as text (JSON, VOTable, CSV).

    Both are None when not given: the writers' exact defaults (nanosecond
    times, the digits that round-trip each float type).
    """
    parser.add_argument("-s", dest="time_digits", type=int_in_range(0, 9), metavar="N",
                        help="fractional-second digits of times (0-9; default: exact nanoseconds)")
    parser.add_argument("-r", dest="digits", type=int_in_range(2, 17), metavar="N",
                        help="significant digits of reals (2-17; default: exact for the type, "
                             "9 for float32, 17 for float64)")


def add_tmpdir_option(parser: argparse.ArgumentParser, what: str = "temporary files") -> None:
    """``-T DIR`` (``--tmpdir``): where the tool writes ``what`` (None: ``$TMPDIR``)."""
    parser.add_argument("-T", "--tmpdir", metavar="DIR",
                        help=f"directory for {what} (default: $TMPDIR)")


def report_error(prog: str, message: str) -> None:
    """Write ``PROG: error: MESSAGE`` as one line to stderr."""
    _report(prog, "error", message)


def report_warning(prog: str, message: str) -> None:
    """Write ``PROG: warning: MESSAGE`` as one line to stderr."""
    _report(prog, "warning", message)


def _report(prog: str, level: str, message: str) -> None:
    one_line = " ".join(str(message).split())
    try:
        sys.stderr.write(f"{prog}: {level}: {one_line}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def run_tool(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    work: Callable[[argparse.Namespace], int | None],
) -> int:
    """Parse ``argv`` and run ``work(args)``; return the exit status.

    Bad options give exit 2, a :class:`DasFlexError` (bad stream, ...) exit 1,
    each with one stderr line; a closed stdout (``head``) ends quietly with 0.
    Any other exception is an internal error: one stderr line and exit 1
    (set ``DASFLEX_TRACEBACK=1`` to see the traceback instead).
    """
    prog = parser.prog
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        report_error(prog, f"{exc} (try '{prog} --help')")
        return EXIT_USAGE
    try:
        return int(work(args) or EXIT_OK)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except DasFlexError as exc:
        report_error(prog, str(exc))
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILURE
    except MemoryError:
        report_error(prog, "out of memory")
        return EXIT_FAILURE
    except OSError as exc:
        report_error(prog, f"I/O error: {exc.strerror or exc}")
        return EXIT_FAILURE
    except Exception as exc:  # noqa: BLE001 - last resort: one line, never a traceback
        if os.environ.get("DASFLEX_TRACEBACK"):
            raise
        report_error(prog, f"internal error ({type(exc).__name__}): {exc}")
        return EXIT_FAILURE


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the exit-time flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
