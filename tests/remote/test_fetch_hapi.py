"""``dasflex_fetch hapi`` against the HAPI test server: mapping, splitting, failures."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from dasflex_core.dastime import parse_us2000
from dasflex_core.remote.policy import POLICY_VARIABLE
from dasflex_core.runner import no_data_message
from tests.support.das2_streams import decoded_packets, decoded_records
from tests.support.hapi_server import BINS, FILL, HapiTestServer, record
from tests.support.remote_fetch import AGENT, policy_json, run_fetch, stage_error

BEGIN, END = "2020-01-01T00:00:00", "2020-01-01T03:00:00"


def fetch_ramp(server: HapiTestServer, env: dict[str, str], *options: str,
               begin: str = BEGIN, end: str = END):
    return run_fetch("hapi", server.url, "ramp", begin, end, *options, env=env)


def expected(first: int, count: int) -> dict[str, np.ndarray]:
    rows = [record(minute) for minute in range(first, first + count)]
    return {"time": np.array([parse_us2000(row[0]) for row in rows]),
            "value": np.array([row[1] for row in rows]),
            "count": np.array([row[2] for row in rows], dtype=float),
            "spectrum": np.array([row[3] for row in rows])}


@pytest.mark.parametrize("output", ["binary", "csv"])
def test_records_and_headers_map_to_das2(hapi_server, policy_env, output) -> None:
    done = fetch_ramp(hapi_server, policy_env, f"--format={output}")
    assert done.returncode == 0, done.stderr
    packets = decoded_packets(done.stdout)
    (scalars, records), (arrays, spectra) = packets[1], packets[2]
    assert sorted(packets) == [1, 2]  # the string 'flag' has no das2 form
    assert [plane.name for plane in scalars.planes] == ["time", "value", "count"]
    x, value, count = scalars.planes
    assert x.encoding.name == "time24" and value.units == "V"
    assert value.properties.get_float("yFill") == FILL
    assert value.properties.get("yLabel") == "Ramp"
    spectrum = arrays.planes[1]
    assert spectrum.kind == "yscan" and spectrum.nitems == 4 and spectrum.yunits == "Hz"
    assert spectrum.zunits == "W/m^2/Hz" and list(spectrum.ytag_values()) == BINS
    want = expected(0, 180)
    np.testing.assert_array_equal(records["x0"], want["time"])
    np.testing.assert_array_equal(records["y1"], want["value"])
    np.testing.assert_array_equal(records["y2"], want["count"])
    np.testing.assert_array_equal(spectra["x0"], want["time"])
    np.testing.assert_array_equal(spectra["yscan1"], want["spectrum"])
    assert b'Datum:xTagWidth="60.0 s"' in done.stdout
    assert b"A ramp with a spectrum" in done.stdout
    assert [query["format"] for query in hapi_server.data_requests()] == [output]


def test_long_ranges_are_split_by_the_known_max_duration(hapi_server, policy_env) -> None:
    done = fetch_ramp(hapi_server, policy_env, "--max-duration=P1D", end="2020-01-03T12:00")
    assert done.returncode == 0, done.stderr
    _, records = decoded_records(done.stdout)
    np.testing.assert_array_equal(records["y1"], expected(0, 3600)["value"])
    spans = [(q["time.min"], q["time.max"]) for q in hapi_server.data_requests()]
    assert spans == [("2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z"),
                     ("2020-01-02T00:00:00Z", "2020-01-03T00:00:00Z"),
                     ("2020-01-03T00:00:00Z", "2020-01-03T12:00:00Z")]
    assert {agent for _, _, agent in hapi_server.requests} == {AGENT}


def test_a_1408_teaches_the_max_duration_from_info(hapi_server, policy_env) -> None:
    done = fetch_ramp(hapi_server, policy_env, end="2020-01-02T06:00")
    assert done.returncode == 0, done.stderr
    _, records = decoded_records(done.stdout)
    assert len(records) == 30 * 60
    paths = [path.rsplit("/", 1)[-1] for path, _, _ in hapi_server.requests]
    assert paths == ["data", "info", "data", "data"]


def test_a_range_beyond_the_data_is_clipped_by_info(hapi_server, policy_env) -> None:
    done = fetch_ramp(hapi_server, policy_env, begin="2019-12-31T23:00", end="2020-01-01T00:10")
    assert done.returncode == 0, done.stderr
    _, records = decoded_records(done.stdout)
    assert len(records) == 10
    outside = fetch_ramp(hapi_server, policy_env, begin="2019-01-01", end="2019-01-02")
    assert outside.returncode == 0
    assert b'type="NoDataInInterval"' in outside.stdout


def test_parameters_gzip_and_keep_alive(hapi_server, policy_env) -> None:
    hapi_server.gzip = True
    done = fetch_ramp(hapi_server, policy_env, "--parameters=spectrum", "--max-duration=PT1H")
    assert done.returncode == 0, done.stderr
    header, records = decoded_records(done.stdout)
    assert [plane.name for plane in header.planes] == ["time", "spectrum"]
    np.testing.assert_array_equal(records["yscan1"], expected(0, 180)["spectrum"])
    assert [q["parameters"] for q in hapi_server.data_requests()] == ["spectrum"] * 3
    assert len(set(hapi_server.connections)) == 1  # one kept-alive connection for all three
    assert set(hapi_server.encodings) == {"gzip"}


def test_the_clients_parameters_win_over_the_definitions(hapi_server, policy_env) -> None:
    done = fetch_ramp(hapi_server, policy_env, "--parameters=spectrum", "--client-parameters=count")
    assert done.returncode == 0, done.stderr
    header, records = decoded_records(done.stdout)
    assert [plane.name for plane in header.planes] == ["time", "count"]
    assert [q["parameters"] for q in hapi_server.data_requests()] == ["count"]


@pytest.mark.parametrize("option, kind, status", [
    ("--client-parameters=nope", "ParameterError", 400),
    ("--parameters=nope", "RemoteError", 502),
    ("--client-parameters=count,count", "ParameterError", 400),
])
def test_refused_parameters_are_the_clients_error_only_when_the_client_chose_them(
        hapi_server, policy_env, option, kind, status) -> None:
    error = stage_error(fetch_ramp(hapi_server, policy_env, option))
    assert (type(error).__name__, error.status) == (kind, status)
    assert "127.0.0.1" in error.message and "(14" in error.message


def test_gzip_can_be_declined(hapi_server, policy_env, tmp_path) -> None:
    hapi_server.gzip = True
    policy_env[POLICY_VARIABLE] = policy_json(tmp_path / "plain", gzip=False)
    done = fetch_ramp(hapi_server, policy_env)
    assert done.returncode == 0, done.stderr
    assert set(hapi_server.encodings) == {"identity"}
    assert len(decoded_records(done.stdout)[1]) == 180


def test_a_server_without_binary_is_asked_for_csv(hapi_server, policy_env) -> None:
    hapi_server.mode = "csv-only"
    done = fetch_ramp(hapi_server, policy_env)
    assert done.returncode == 0, done.stderr
    assert len(decoded_records(done.stdout)[1]) == 180
    assert [q["format"] for q in hapi_server.data_requests()] == ["binary", "csv"]


def test_no_data_is_a_das2_no_data_stream(hapi_server, policy_env) -> None:
    hapi_server.mode = "nodata"
    done = fetch_ramp(hapi_server, policy_env)
    assert done.returncode == 0, done.stderr
    assert "127.0.0.1" in (no_data_message(done.stdout) or "")


@pytest.mark.parametrize("mode, kind, words", [
    ("range", "OutOfRangeError", "outside the data"),
    ("unknown", "RemoteError", "does not know this dataset"),
    ("html", "RemoteError", "sent text/html instead of HAPI data"),
    ("broken", "RemoteError", "broke off the answer mid-stream"),
    ("stall", "RemoteError", "sent no data for 1 s"),
])
def test_failures_are_named_errors(hapi_server, policy_env, mode, kind, words) -> None:
    hapi_server.mode = mode
    done = fetch_ramp(hapi_server, policy_env)
    error = stage_error(done)
    assert type(error).__name__ == kind
    assert words in error.message and "127.0.0.1" in error.message
    if mode == "broken":  # what was relayed is whole packets only
        decoded_records(done.stdout)


def test_wrong_csv_content_is_a_remote_error(hapi_server, policy_env) -> None:
    hapi_server.mode = "columns"
    error = stage_error(fetch_ramp(hapi_server, policy_env, "--format=csv"))
    assert "do not fit its header" in error.message


def test_retries_only_before_the_first_byte(hapi_server, policy_env) -> None:
    hapi_server.mode = "flaky"
    done = fetch_ramp(hapi_server, policy_env)
    assert done.returncode == 0, done.stderr
    assert len(hapi_server.data_requests()) == 3  # two 503s, then the data
    hapi_server.mode, hapi_server.requests = "broken", []
    stage_error(fetch_ramp(hapi_server, policy_env))
    assert len(hapi_server.data_requests()) == 1  # broken after data began: never sent again


def test_a_slow_server_times_out_after_its_retries(hapi_server, policy_env) -> None:
    hapi_server.mode, hapi_server.delay = "slow", 3.0
    error = stage_error(fetch_ramp(hapi_server, policy_env))
    assert "did not answer within 2 s" in error.message
    assert len(hapi_server.data_requests()) == 3


def test_an_unreachable_server_is_a_remote_error(policy_env) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = run_fetch("hapi", f"http://127.0.0.1:{port}/hapi", "ramp", BEGIN, END, env=policy_env)
    error = stage_error(done)
    assert error.status == 502
    assert error.message == f"The remote HAPI server 127.0.0.1:{port} refused the connection"


def test_bad_options_exit_2(policy_env) -> None:
    done = run_fetch("hapi", "http://127.0.0.1:1/hapi", "ramp", BEGIN, END, "--format=json",
                     env=policy_env)
    assert done.returncode == 2 and b"dasflex_fetch: error:" in done.stderr


def test_patience_ends_retries_before_the_server_gives_up(hapi_server, policy_env,
                                                          tmp_path) -> None:
    hapi_server.mode, hapi_server.delay = "slow", 5.0
    policy_env[POLICY_VARIABLE] = policy_json(tmp_path / "patient", retries=5,
                                              first_byte_timeout=2.0, patience=3.5)
    started = time.monotonic()
    error = stage_error(fetch_ramp(hapi_server, policy_env))
    elapsed = time.monotonic() - started
    assert "did not answer within" in error.message
    # without patience: 6 attempts of 2 s and 12.5 s of back-off
    assert len(hapi_server.data_requests()) < 6 and elapsed < 10.0
