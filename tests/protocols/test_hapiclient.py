"""hapiclient (the reference HAPI client) reads CSV and binary from a real gunicorn.

Both give the arrays our own das2 stream gives for the same range.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.system  # server_url: a real gunicorn

DATASET = "Test/Ramp"
START, STOP = "2020-01-01T00:00:00Z", "2020-01-01T02:00:00Z"


def das2_reference(server_url: str) -> tuple[np.ndarray, np.ndarray]:
    """Times (datetime64[ms]) and values of the das2 stream for the same range."""
    from dasflex_core.codecs import make_reader
    from dasflex_core.codecs.events import DataRun
    from dasflex_core.dastime.vec import convert_times

    url = (f"{server_url}/?server=dataset&dataset={DATASET}"
           f"&start_time={START[:-1]}&end_time={STOP[:-1]}")
    with urllib.request.urlopen(url, timeout=30) as reply:
        data = reply.read()
    reader = make_reader(data)
    runs = [event for event in reader.feed(data) + reader.close() if isinstance(event, DataRun)]
    records = np.concatenate([run.records for run in runs])
    x_name, y_name = records.dtype.names
    nanoseconds = convert_times(records[x_name].astype(float), "us2000", "ns1970")
    return np.asarray(nanoseconds, dtype="int64").astype("datetime64[ns]").astype(
        "datetime64[ms]"), records[y_name].astype(float)


@pytest.mark.parametrize("output", ["csv", "binary"])
def test_hapiclient_reads_what_the_das2_stream_holds(server_url: str, tmp_path: Path,
                                                    output: str) -> None:
    from hapiclient import hapi

    options = {"format": output, "cachedir": str(tmp_path), "usecache": False,
               "cache": False, "logging": False}
    data, meta = hapi(f"{server_url}/hapi", DATASET, "value", START, STOP, **options)
    assert [p["name"] for p in meta["parameters"]] == ["Time", "value"]
    times, values = das2_reference(server_url)
    served = np.array([text.decode().rstrip("Z") for text in data["Time"]],
                      dtype="datetime64[ms]")
    assert len(served) == 120
    np.testing.assert_array_equal(served, times)
    np.testing.assert_array_equal(data["value"], values)
    assert not list(tmp_path.rglob("*.npy"))
