"""Run a stream tool: its ``main`` in-process, or its module as a program."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable, Sequence

import pytest


def run_main(main: Callable[[Sequence[str]], int], argv: Sequence[str], data: bytes,
             monkeypatch: pytest.MonkeyPatch) -> tuple[int, bytes, str]:
    """Run a tool's ``main`` in-process on ``data``; return (status, stdout, stderr)."""
    stdin = io.TextIOWrapper(io.BytesIO(data))
    stdout = io.TextIOWrapper(io.BytesIO())
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stdin", stdin)
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", stderr)
    status = main(list(argv))
    stdout.flush()
    return status, stdout.buffer.getvalue(), stderr.getvalue()  # type: ignore[attr-defined]


def run_tool(module: str, args: list[str], data: bytes) -> subprocess.CompletedProcess:
    """Run ``python -m dasflex_core.tools.<module> ARGS`` with ``data`` on stdin."""
    env = dict(os.environ, LC_ALL="C", TZ="UTC")
    env.pop("DASFLEX_TRACEBACK", None)
    return subprocess.run(
        [sys.executable, "-m", f"dasflex_core.tools.{module}", *args],
        input=data,
        capture_output=True,
        timeout=120,
        check=False,
        env=env,
    )
