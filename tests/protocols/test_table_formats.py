"""Every example source in every table format, through the HTTP app, read back by its users' libraries.

For the first example range of each bundled example source (the protected
one with a password), the app answers Parquet, NetCDF-4, VOTable
(TABLEDATA and BINARY2), JSON and plain CSV; each body is read back with
pyarrow and pandas, xarray and netCDF4, astropy.io.votable, json and
pandas.read_csv.  Then, for each:

* the values equal the das2C-layout CSV of the same request (``das3_csv``)
  within float tolerance, and missing values are where the CSV has fill;
* the times equal, to the nanosecond, the exact decimal value of the times
  in the das2/das3 stream the formatter read (computed here with fractions);
* the metadata is there: units, fill, titles, axes.
"""

from __future__ import annotations

import io
import json
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pytest

from dasflex_core.auth import hash_password
from dasflex_core.codecs import das2, das3
from dasflex_core.codecs.events import DataRun
from dasflex_core.dastime import NS_1970_TO_2000
from dasflex_core.settings import load_settings
from dasflex_core.sources.loader import load_site
from dasflex_flask import create_app
from tests.support.http import basic
from tests.support.paths import EXAMPLE_SITE

USER, PASSWORD, GROUP = "ann", "table-secret", "testgroup"
#: The table formats and the query keys that select them.
FORMATS = {
    "parquet": {"format.type": "parquet"},
    "netcdf": {"format.type": "netcdf"},
    "votable": {"format.type": "votable"},
    "votable-binary": {"format.type": "votable", "format.serial": "binary"},
    "json": {"format.type": "json"},
    "csv-plain": {"format.type": "csv", "format.style": "plain"},
}
MIMES = {"parquet": "application/vnd.apache.parquet", "netcdf": "application/x-netcdf",
         "votable": "application/x-votable+xml", "votable-binary": "application/x-votable+xml",
         "json": "application/json", "csv-plain": "text/csv"}


@dataclass
class Table:
    """A table read back: its times (int64 ns since 1970), cells and metadata."""

    name: str
    times: np.ndarray
    values: np.ndarray  # rows x flattened numeric cells, NaN where missing
    units: dict[str, str] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    fills: dict[str, float] = field(default_factory=dict)
    axes: dict[str, np.ndarray] = field(default_factory=dict)


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("accounts")
    users, groups = folder / "passwd", folder / "group"
    users.write_text(f"{USER}:{hash_password(PASSWORD, scheme='pbkdf2_sha256', rounds=1000)}\n")
    groups.write_text(f"{GROUP}: {USER}\n")
    settings = load_settings(environ={}, site_dir=EXAMPLE_SITE, users_file=users, groups_file=groups,
                             first_byte_timeout=60.0, total_timeout=120.0)
    with create_app(settings).test_client() as test_client:
        yield test_client


def example_requests() -> list[tuple[str, dict[str, str]]]:
    site = load_site(EXAMPLE_SITE)
    return [(source.id, dict(source.examples[0].settings)) for source in site
            if source.examples and source.reader is not None and not source.redirect]


EXAMPLE_REQUESTS = example_requests()


def fetch(client, source_id: str, query: dict[str, str]) -> tuple[str, bytes]:
    url = f"/source/{source_id.lower()}/flex?{urlencode(query)}"
    reply = client.get(url, headers=basic(USER, PASSWORD))
    body = reply.get_data()
    assert reply.status_code == 200, body[:500]
    return reply.headers["Content-Type"], body


# ----------------------------------------------------------------------------- oracles


def exact_ns(us2000: float) -> int:
    """The exact decimal value of a us2000 double, in whole nanoseconds since 1970."""
    return round(Fraction(us2000) * 1000) + NS_1970_TO_2000


def stream_times(data: bytes) -> list[int]:
    """Record times of a das2 or das3 stream in ns since 1970, computed exactly."""
    if data.startswith(b"|Sx|"):
        runs = [e for e in das3.read_all(data) if isinstance(e, DataRun)]
        keys = [next(k for k in run.records.dtype.names if k.startswith("time")) for run in runs]
        units = {run.header.coords[0].variables[0].units for run in runs}
        assert units == {"us2000"}, units
        return [exact_ns(float(v)) for run, key in zip(runs, keys, strict=True)
                for v in run.records[key]]
    times = []
    for run in (e for e in das2.read_all(data) if isinstance(e, DataRun)):
        plane = run.header.x_plane
        assert plane.value_units == "us2000"
        times.extend(exact_ns(float(v)) for v in run.records[run.header.field(plane)])
    return times


def das_csv(data: bytes) -> tuple[list[int], np.ndarray]:
    """The first time (ns) and the numeric cells of each values row of das3_csv output."""
    times, rows = [], []
    for line in data.decode().splitlines():
        cells = line.split(";")
        if len(cells) < 3 or cells[1] != '"values"':
            continue
        numbers, first_time = [], None
        for cell in cells[2:]:
            try:
                numbers.append(float(cell))
            except ValueError:
                if first_time is None:
                    first_time = int(np.datetime64(cell, "ns").astype(np.int64))
        times.append(first_time)
        rows.append(numbers)
    return times, np.array(rows, dtype=np.float64)


# ----------------------------------------------------------------------------- readers


def read_parquet(body: bytes, _tmp: Path) -> list[Table]:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(body))
    frame = pd.read_parquet(io.BytesIO(body))
    assert str(frame["time"].dtype) == "datetime64[ns, UTC]"
    assert table.schema.field("time").type == pa.timestamp("ns", tz="UTC")
    result = Table(table.schema.metadata[b"title"].decode(),
                   table.column("time").cast(pa.int64()).to_numpy(), np.empty(0))
    cells = []
    for column in table.schema:
        meta = {k.decode(): v.decode() for k, v in (column.metadata or {}).items()}
        if column.name == "time":
            continue
        result.units[column.name] = meta["units"]
        result.titles[column.name] = meta["title"]
        if "fill_value" in meta:
            result.fills[column.name] = float(meta["fill_value"])
        if "axis" in meta:
            axis = json.loads(meta["axis"])
            result.axes[axis["name"]] = np.array(axis.get("values", axis.get("labels")))
        array = table.column(column.name).combine_chunks()
        if pa.types.is_fixed_size_list(array.type):
            flat = array.flatten().to_numpy(zero_copy_only=False).astype(np.float64)
            cells.append(flat.reshape(len(array), -1))
        else:
            cells.append(array.to_numpy(zero_copy_only=False).astype(np.float64)[:, None])
    result.values = np.hstack(cells)
    return [result]


def read_netcdf(body: bytes, tmp: Path) -> list[Table]:
    import netCDF4
    import xarray as xr

    path = tmp / "answer.nc"
    path.write_bytes(body)
    with netCDF4.Dataset(path) as raw:
        time = raw.variables["time"]
        assert time.units == "nanoseconds since 1970-01-01T00:00:00Z"
        assert time.calendar == "standard" and time.dtype == np.int64
        raw_fills = {name: float(var.getncattr("_FillValue")) for name, var in raw.variables.items()
                     if "_FillValue" in var.ncattrs() and name != "time"}
        raw_times = np.asarray(time[:], dtype=np.int64)
    with xr.open_dataset(path) as dataset:
        assert dataset["time"].dtype == np.dtype("datetime64[ns]")
        times = dataset["time"].values.astype(np.int64)
        np.testing.assert_array_equal(times, raw_times)
        result = Table(dataset.attrs["title"], times, np.empty(0), fills=raw_fills)
        cells = []
        for name, variable in dataset.data_vars.items():
            result.units[str(name)] = variable.attrs.get("units", "")
            result.titles[str(name)] = variable.attrs["long_name"]
            for dim in variable.dims[1:]:
                result.axes[str(dim)] = dataset[dim].values
            cells.append(variable.values.astype(np.float64).reshape(len(times), -1))
        result.values = np.hstack(cells)
    return [result]


def read_votable(body: bytes, _tmp: Path) -> list[Table]:
    from astropy.io.votable import parse

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # das2 unit strings are not all VOUnits
        document = parse(io.BytesIO(body))
    found = []
    for table in document.iter_tables():
        fields = {f.name: f for f in table.fields}
        assert fields["time"].xtype == "timestamp" and fields["time"].ucd == "time.epoch"
        array = table.array
        times = np.array([np.datetime64(text.rstrip("Z"), "ns") for text in array["time"]])
        result = Table(table.name, times.astype(np.int64), np.empty(0))
        for param in table.params:
            result.axes[param.name] = np.atleast_1d(param.value)
        cells = []
        for name, f in fields.items():
            if name == "time":
                continue
            result.units[name] = str(f.unit) if f.unit is not None else ""
            result.titles[name] = f.description or ""
            column = np.ma.filled(np.ma.asarray(array[name], dtype=np.float64), np.nan)
            cells.append(column.reshape(len(times), -1))
        result.values = np.hstack(cells)
        found.append(result)
    return found


def read_json(body: bytes, _tmp: Path) -> list[Table]:
    document = json.loads(body)
    found = []
    for table in document["tables"]:
        columns = table["columns"]
        assert columns[0]["type"] == "time"
        times = np.array([np.datetime64(row[0].rstrip("Z"), "ns") for row in table["data"]])
        result = Table(table["name"], times.astype(np.int64), np.empty(0))
        for column in columns[1:]:
            result.units[column["name"]] = column["units"]
            result.titles[column["name"]] = column["title"]
            if "fill" in column:
                result.fills[column["name"]] = column["fill"]
        for name, axis in table["axes"].items():
            result.axes[name] = np.array(axis.get("values", axis.get("labels")))
        rows = [[math.nan if v is None else v for item in row[1:]
                 for v in (item if isinstance(item, list) else [item])] for row in table["data"]]
        result.values = np.array(rows, dtype=np.float64)
        found.append(result)
    return found


def read_plain_csv(body: bytes, _tmp: Path) -> list[Table]:
    import pandas as pd

    frame = pd.read_csv(io.BytesIO(body), parse_dates=[0])
    assert frame.columns[0] == "time (UTC)"
    assert str(frame.dtypes.iloc[0]).startswith("datetime64[ns")
    times = frame.iloc[:, 0].dt.tz_convert(None).to_numpy().astype("datetime64[ns]")
    result = Table("csv", times.astype(np.int64),
                   frame.iloc[:, 1:].to_numpy(dtype=np.float64))
    for header in frame.columns[1:]:
        name, _, units = header.partition(" (")
        result.units[name] = units.rstrip(")")
    return [result]


READERS: dict[str, Callable[[bytes, Path], list[Table]]] = {
    "parquet": read_parquet, "netcdf": read_netcdf, "votable": read_votable,
    "votable-binary": read_votable, "json": read_json, "csv-plain": read_plain_csv,
}


# ----------------------------------------------------------------------------- the tests


@pytest.fixture(scope="module")
def references(client) -> dict[str, tuple[list[int], list[int], np.ndarray]]:
    """Per source: exact stream times, das3_csv first times and das3_csv numbers."""
    site = load_site(EXAMPLE_SITE)
    found = {}
    for source_id, settings in EXAMPLE_REQUESTS:
        version = "3" if str(site.get(source_id).output).startswith("das3") else "2"
        _, stream = fetch(client, source_id, {**settings, "format.version": version})
        _, csv = fetch(client, source_id, {**settings, "format.type": "csv",
                                           "format.secfrac": "6"})
        csv_times, numbers = das_csv(csv)
        found[source_id] = (stream_times(stream), csv_times, numbers)
    return found


def cases() -> Iterator[tuple[str, dict[str, str], str]]:
    for source_id, settings in EXAMPLE_REQUESTS:
        for name in FORMATS:
            yield source_id, settings, name


@pytest.mark.system  # every example source in every format: a reader-and-tool pipeline each
@pytest.mark.parametrize(("source_id", "settings", "output"), list(cases()),
                         ids=[f"{s}-{o}" for s, _, o in cases()])
def test_format_reads_back_like_the_csv(client, references, tmp_path: Path, source_id: str,
                                        settings: dict[str, str], output: str) -> None:
    mime, body = fetch(client, source_id, {**settings, **FORMATS[output]})
    assert mime.split(";")[0] == MIMES[output]
    tables = READERS[output](body, tmp_path)
    assert len(tables) == 1, [t.name for t in tables]
    table = tables[0]
    exact, csv_times, numbers = references[source_id]
    assert len(table.times) == len(exact) == len(csv_times) > 0
    np.testing.assert_array_equal(table.times, np.array(exact, dtype=np.int64))
    assert np.abs(table.times - np.array(csv_times, dtype=np.int64)).max() <= 2000
    assert table.values.shape == numbers.shape
    missing = np.isnan(table.values)
    assert np.all(np.abs(numbers[missing]) >= 1e30) or np.all(np.isnan(numbers[missing]))
    assert not np.any(np.abs(numbers[~missing]) >= 1e30), "a fill value came through as a number"
    np.testing.assert_allclose(table.values[~missing], numbers[~missing], rtol=2e-7, atol=0)
    for name, units in table.units.items():
        assert units, f"{output}: no units for {name}"
    if output != "csv-plain":
        assert all(table.titles.values()), table.titles


@pytest.mark.parametrize("output", ["parquet", "netcdf", "votable", "json"])
def test_metadata_of_a_spectrogram(client, tmp_path: Path, output: str) -> None:
    settings = dict(EXAMPLE_REQUESTS)["Examples/Spectra"]
    table = READERS[output](fetch(client, "Examples/Spectra", {**settings, **FORMATS[output]})[1],
                            tmp_path)[0]
    assert table.units["spec_dens"] == "V**2 m**-2 Hz**-1" or output == "votable"
    frequency = np.asarray(table.axes["frequency"], dtype=np.float64)
    assert len(frequency) == 100 and frequency[0] == 10.0 and frequency[-1] == 10000.0
    assert "Spectral density" in table.titles["spec_dens"]
    if output != "votable":
        assert np.float32(table.fills["spec_dens"]) == np.float32(-1e31)


@pytest.mark.parametrize("output", ["parquet", "netcdf", "votable", "json"])
def test_vectors_keep_their_components(client, tmp_path: Path, output: str) -> None:
    settings = dict(EXAMPLE_REQUESTS)["Examples/Das3Native"]
    body = fetch(client, "Examples/Das3Native", {**settings, **FORMATS[output]})[1]
    table = READERS[output](body, tmp_path)[0]
    labels = " ".join(str(label) for label in np.ravel(table.axes["b_field_component"]))
    assert labels == "x y z"
    assert table.units["b_field"] == "nT" and table.values.shape[1] == 4


def test_labels_lose_their_das2_formatting_codes(client, tmp_path: Path) -> None:
    settings = dict(EXAMPLE_REQUESTS)["Examples/Random"]
    document = json.loads(fetch(client, "Examples/Random", {**settings, "format.type": "json"})[1])
    radius = document["tables"][0]["columns"][1]
    assert radius["label"] == "Radius (RE)" and radius["units"] == "Re"
    assert radius["fill"] == -1e31 and radius["role"] == "data"


def test_legacy_style_plain_is_csv_for_people(client) -> None:
    import pandas as pd

    query = {"server": "dataset", "dataset": "Examples/Daily", "start_time": "2021-06-01",
             "end_time": "2021-06-02", "style": "plain"}
    reply = client.get(f"/?{urlencode(query)}")
    assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("text/csv")
    frame = pd.read_csv(io.BytesIO(reply.get_data()), parse_dates=[0])
    assert list(frame.columns) == ["time (UTC)", "temperature (deg C)", "pressure (hPa)"]
    assert len(frame) == 72 and str(frame.iloc[0, 0]) == "2021-06-01 00:00:00+00:00"


def test_default_csv_keeps_the_das2c_layout(client) -> None:
    settings = dict(EXAMPLE_REQUESTS)["Examples/Daily"]
    body = fetch(client, "Examples/Daily", {**settings, "format.type": "csv"})[1]
    assert body.startswith(b'1;"header";"coord:time"')
