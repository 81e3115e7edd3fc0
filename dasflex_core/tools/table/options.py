"""Command-line options shared by the table programs (no numpy here: ``--help`` stays quick)."""

from __future__ import annotations

from dasflex_core.commands.requirements import module_available
from dasflex_core.tools._common import ToolParser, UsageError, int_in_range

#: Fractional-second digits of the text formats' times by default (exact nanoseconds).
TIME_DIGITS = 9


def add_text_arguments(parser: ToolParser) -> None:
    """``-s`` (fractional-second digits) and ``-r`` (significant digits) of the text formats."""
    parser.add_argument("-s", dest="time_digits", type=int_in_range(0, 9), default=TIME_DIGITS,
                        metavar="N", help=f"fractional-second digits of times (0-9, default "
                                          f"{TIME_DIGITS}: exact nanoseconds)")
    parser.add_argument("-r", dest="digits", type=int_in_range(2, 17), default=None, metavar="N",
                        help="significant digits of reals (2-17; default: exact for the type, "
                             "9 for float32, 17 for float64)")


def add_tmpdir_argument(parser: ToolParser) -> None:
    """``-T DIR``: where temporary files go."""
    parser.add_argument("-T", "--tmpdir", metavar="DIR",
                        help="directory for temporary files (default: $TMPDIR)")


def require_module(module: str, extra: str) -> None:
    """Raise a one-line UsageError when the Python ``module`` a format needs is missing."""
    if not module_available(module):
        raise UsageError(f"the Python module {module} is not installed "
                         f"(pip install 'dasflex[{extra}]')")
