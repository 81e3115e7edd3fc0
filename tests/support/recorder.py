"""A runner that records plans instead of running readers (the security tests' ``recorder``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

#: The realm of the bundled example site's protected source (Examples/Auth).
REALM = "dasflex example data"
_HEADER = b'<stream version="2.2"><properties title="t"/></stream>\n'
#: What every recorded run yields: a tiny das2 stream (a stream header only).
STREAM = b"[00]%06d" % len(_HEADER) + _HEADER


class Recorder:
    """Plans handed to the runner, in order."""

    def __init__(self) -> None:
        self.plans: list[Any] = []

    def run(self, plan: Any, **_options: Any) -> Iterator[bytes]:
        self.plans.append(plan)
        return self._stream()

    @staticmethod
    def _stream() -> Iterator[bytes]:
        yield STREAM

    def last_since(self, count: int) -> Any:
        """The plan recorded after the first ``count``, or None."""
        return self.plans[-1] if len(self.plans) > count else None
