"""A plain text progress bar: redrawn in place on a terminal, one line per 10 % otherwise."""

from __future__ import annotations

import sys
from typing import TextIO

#: Characters of the bar between its brackets.
WIDTH = 30


class ProgressBar:
    """Call with ``(done, total)``; :meth:`finish` ends the line on a terminal."""

    def __init__(self, label: str = "blocks", stream: TextIO | None = None,
                 interactive: bool | None = None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        if interactive is None:
            isatty = getattr(self.stream, "isatty", None)
            interactive = bool(isatty and isatty())
        self.interactive = interactive
        self._last_tenth = -1
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        """Show ``done`` of ``total``."""
        text = render(done, total, self.label)
        if self.interactive:
            self.stream.write("\r" + text)
            self._drawn = True
        else:
            tenth = 10 if total <= 0 else min(10, done * 10 // total)
            if tenth <= self._last_tenth:
                return
            self._last_tenth = tenth
            self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        """End the in-place line (nothing to do otherwise)."""
        if self.interactive and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def render(done: int, total: int, label: str = "blocks") -> str:
    """``[#########.....................]  12/40 blocks  30%``."""
    fraction = 1.0 if total <= 0 else max(0.0, min(1.0, done / total))
    filled = round(fraction * WIDTH)
    bar = "#" * filled + "." * (WIDTH - filled)
    width = len(str(total))
    return f"[{bar}] {done:>{width}}/{total} {label} {fraction * 100:3.0f}%"
