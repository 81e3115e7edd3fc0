"""Running ``dasflex_fetch`` as the remote tests do: a test fetch policy, the run, its error."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from dasflex_core.errors import DasFlexError
from dasflex_core.remote.policy import POLICY_VARIABLE
from dasflex_core.stages import reported_error
from tests.support.paths import BIN_DIR
from tests.support.processes import dasflex_env

#: The agent the test policy sends.
AGENT = "dasflex/test (+http://127.0.0.1; remote tests)"


def policy_json(lock_dir: Path, **overrides: Any) -> str:
    """A fetch policy with short timeouts, quick retries and its own lock directory."""
    policy = {"agent": AGENT, "lock_dir": str(lock_dir), "concurrency": 4, "rate": 200.0,
              "connect_timeout": 2.0, "first_byte_timeout": 2.0, "idle_timeout": 1.0,
              "retries": 2, "hosts": {}}
    policy.update(overrides)
    return json.dumps(policy)


def policy_environment(lock_dir: Path) -> dict[str, str]:
    """This environment without DASFLEX_* settings, plus the test policy (locks in ``lock_dir``)."""
    return dasflex_env(**{POLICY_VARIABLE: policy_json(lock_dir)})


def fetch_command(*arguments: str) -> list[str]:
    """The argv of ``dasflex_fetch ARGUMENTS`` (the installed program)."""
    return [str(BIN_DIR / "dasflex_fetch"), *arguments]


def run_fetch(*arguments: str, env: dict[str, str],
              timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """Run ``dasflex_fetch ARGUMENTS``; stdout is bytes."""
    return subprocess.run(fetch_command(*arguments), capture_output=True, env=env,
                          timeout=timeout, check=False)


def stage_error(done: subprocess.CompletedProcess[bytes]) -> DasFlexError:
    """The error a failed fetch reported (as the runner reads it)."""
    assert done.returncode == 1, done.stderr
    error = reported_error(done.stderr)
    assert error is not None, done.stderr
    assert b"Traceback" not in done.stderr
    return error
