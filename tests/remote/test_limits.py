"""Per-remote limits: the policy from settings, fetch slots and the request rate across processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dasflex_core.errors import DefinitionError
from dasflex_core.remote.limits import fetch_slot, remote_key
from dasflex_core.remote.policy import (
    POLICY_VARIABLE,
    current_policy,
    export_policy,
    policy_from_settings,
)
from dasflex_core.settings import HostLimits, load_settings
from dasflex_core.stages import clean_environment
from tests.support.remote_fetch import fetch_command, policy_json, run_fetch, stage_error


def test_the_policy_goes_from_settings_to_every_stage(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(POLICY_VARIABLE, raising=False)
    settings = load_settings(environ={}, site_title="Test site", server_url="https://x.example.org",
                             remote_concurrency=3, remote_rate=0.5, remote_retries=0,
                             remote_host_limits="slow.example.org=1/0.1 127.0.0.1:8080=4/20",
                             remote_lock_dir=tmp_path)
    export_policy(settings)
    policy = current_policy()
    assert policy == policy_from_settings(settings)
    assert policy.agent == "dasflex/0.1.0 (+https://x.example.org; Test site)"
    assert policy.lock_dir == str(tmp_path) and policy.retries == 0
    assert policy.limits_for("slow.example.org", 443) == HostLimits(1, 0.1)
    assert policy.limits_for("127.0.0.1", 8080) == HostLimits(4, 20.0)
    assert policy.limits_for("127.0.0.1", 8081) == HostLimits(3, 0.5)
    assert json.loads(clean_environment()[POLICY_VARIABLE])["concurrency"] == 3


@pytest.mark.parametrize("name, value", [
    ("DASFLEX_REMOTE_HOST_LIMITS", "example.org=2"),
    ("DASFLEX_REMOTE_HOST_LIMITS", "example.org=0/5"),
    ("DASFLEX_REMOTE_CONCURRENCY", "0"),
    ("DASFLEX_REMOTE_RETRIES", "-1"),
])
def test_bad_limits_name_the_setting(name: str, value: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_settings(environ={name: value})
    assert caught.value.where == name[len("DASFLEX_"):].lower() or name in str(caught.value)


def test_a_settings_file_with_limits_validates(tmp_path: Path) -> None:
    path = tmp_path / "dasflex.toml"
    path.write_text('remote_concurrency = 4\nremote_rate = 2.5\n'
                    'remote_host_limits = "cdaweb.gsfc.nasa.gov=2/5"\n')
    settings = load_settings(path, environ={})
    assert (settings.remote_concurrency, settings.remote_rate) == (4, 2.5)


RATE_SCRIPT = """
import sys, time
from dasflex_core.remote import limits
booked = []
real_book = limits.book_turn
def book(*arguments):
    booked.append(real_book(*arguments))
    return booked[-1]
limits.book_turn = book
for _ in range(4):
    limits.wait_for_turn(sys.argv[1], "example.org_80", 20.0)
    print(repr(booked[-1]), repr(time.time()), flush=True)
"""


def test_the_request_rate_holds_across_processes(tmp_path: Path) -> None:
    workers = [subprocess.Popen([sys.executable, "-c", RATE_SCRIPT, str(tmp_path)],
                                stdout=subprocess.PIPE, text=True) for _ in range(3)]
    rows = [tuple(map(float, line.split())) for worker in workers
            for line in worker.communicate(timeout=60)[0].splitlines()]
    assert len(rows) == 12
    turns = sorted(turn for turn, _ in rows)
    # 20 requests a second at most, all processes together: the booked turns are 50 ms apart
    assert min(later - earlier for earlier, later in zip(turns, turns[1:], strict=False)) \
        >= 0.05 - 1e-5
    assert all(sent >= turn - 1e-3 for turn, sent in rows)  # and no request goes before its turn


def start_fetches(url: str, env: dict[str, str], count: int) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen(fetch_command("hapi", url, "ramp", "2020-01-01T00:00",
                                           "2020-01-01T00:10"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
            for _ in range(count)]


@pytest.mark.parametrize("slots", [2, 5])
def test_fetch_slots_hold_across_processes(hapi_server, policy_env, tmp_path, slots) -> None:
    hapi_server.mode, hapi_server.delay = "slow", 2.0
    port = hapi_server.server_address[1]
    policy_env[POLICY_VARIABLE] = policy_json(
        tmp_path / "locks", first_byte_timeout=20.0,
        hosts={f"127.0.0.1:{port}": {"concurrency": slots, "rate": 100.0}})
    fetches = start_fetches(hapi_server.url, policy_env, 5)
    outcomes = [fetch.communicate(timeout=120) for fetch in fetches]
    assert all(fetch.returncode == 0 for fetch in fetches), outcomes
    if slots == 2:
        assert hapi_server.busiest == 2
    else:  # without the limit the same five fetches overlap more
        assert hapi_server.busiest > 2


def test_no_free_slot_in_time_is_a_busy_error(hapi_server, policy_env, tmp_path) -> None:
    port = hapi_server.server_address[1]
    policy_env[POLICY_VARIABLE] = policy_json(tmp_path / "locks", concurrency=1,
                                              first_byte_timeout=0.5)
    with fetch_slot(str(tmp_path / "locks"), remote_key("127.0.0.1", port), 1, 1.0, "x"):
        done = run_fetch("hapi", hapi_server.url, "ramp", "2020-01-01T00:00",
                         "2020-01-01T00:10", env=policy_env)
    error = stage_error(done)
    assert type(error).__name__ == "RemoteBusyError" and error.status == 503
    assert f"127.0.0.1:{port} is busy" in error.message
    assert not hapi_server.requests
