"""Coverage: where a source's reader writes data, on the command line and as a plot."""

from __future__ import annotations

import json

import pytest

from dasflex_core.coverage import Coverage, compute_coverage, coverage_png, default_bin_seconds
from dasflex_core.errors import QueryError, TimeError, TooLargeError
from tests.support.paths import PROJECT_DIR
from tests.support.wsgi import CLIENT_ADDRESS, wsgi_get

SITE_DIR = PROJECT_DIR / "examples" / "site"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def site():
    from dasflex_core.sources.loader import load_site

    return load_site(SITE_DIR)


def test_spectra_has_data_exactly_inside_its_valid_range(site) -> None:
    spectra = site.get("Examples/Spectra")
    result = compute_coverage(spectra, "1979-02-28T18:00", "1979-03-01T06:00", 1800)
    assert result.intervals == (("1979-03-01T00:00:00.000", "1979-03-01T06:00:00.000"),)
    assert len(result.bins) == 12
    assert all(count > 0 for _, count in result.bins)
    assert result.bins[0][0] == "1979-03-01T00:00:00.000"


def test_end_of_valid_range_is_found(site) -> None:
    spectra = site.get("Examples/Spectra")
    result = compute_coverage(spectra, "1979-03-04T20:00", "1979-03-05T04:00", 3600)
    assert result.intervals == (("1979-03-04T20:00:00.000", "1979-03-05T00:00:00.000"),)


def test_no_data_outside_the_valid_range(site) -> None:
    spectra = site.get("Examples/Spectra")
    result = compute_coverage(spectra, "1980-03-01", "1980-03-02", 3600)
    assert result.intervals == () and result.bins == ()
    assert result.begin == "1980-03-01T00:00:00.000"


def test_reader_saying_no_data_gives_no_intervals(site) -> None:
    # Outside the reader's own data but with the definition's clip bypassed.
    from dataclasses import replace

    unclipped = replace(site.get("Examples/Spectra"), valid_range=None)
    result = compute_coverage(unclipped, "1979-03-06", "1979-03-06T06:00", 3600)
    assert result.intervals == ()


def test_empty_range_has_no_data(site) -> None:
    random = site.get("Examples/Random")
    result = compute_coverage(random, "2017-01-01T00:00", "2017-01-01T00:00")
    assert result.intervals == ()


def test_source_without_valid_range_has_data_everywhere(site) -> None:
    random = site.get("Examples/Random")
    result = compute_coverage(random, "2017-01-01", "2017-01-01T06:00", 3600)
    assert result.intervals == (("2017-01-01T00:00:00.000", "2017-01-01T06:00:00.000"),)


def test_bad_requests_are_clear_errors(site) -> None:
    random = site.get("Examples/Random")
    with pytest.raises(QueryError, match="before"):
        compute_coverage(random, "2017-01-02", "2017-01-01")
    with pytest.raises(QueryError, match="positive"):
        compute_coverage(random, "2017-01-01", "2017-01-02", 0)
    with pytest.raises(TooLargeError, match="bins"):
        compute_coverage(random, "2000-01-01", "2017-01-02", 1)
    with pytest.raises(TimeError, match="not a time"):
        compute_coverage(random, "not a time", "2017-01-02")


def test_failing_reader_is_a_reader_error(site) -> None:
    import sys
    from dataclasses import replace

    from dasflex_core.errors import ReaderError

    failing = (sys.executable, "-c", "import sys; sys.exit(3)", "#[read.time.min]",
               "#[read.time.max]")
    random = site.get("Examples/Random")
    commands = tuple(replace(command, template=failing) if command.name == "reader" else command
                     for command in random.commands)
    with pytest.raises(ReaderError, match="failed"):
        compute_coverage(replace(random, id="Test/Failing", commands=commands),
                         "2017-01-01", "2017-01-02")


def test_default_bins_are_round_and_few() -> None:
    assert default_bin_seconds(3600) == 60
    assert default_bin_seconds(86400) == 600
    assert default_bin_seconds(400 * 86400) == 2 * 86400


def test_png_is_an_image() -> None:
    result = Coverage("X/Y", "2017-01-01T00:00:00.000", "2017-01-02T00:00:00.000", 3600,
                      (("2017-01-01T03:00:00.000", "2017-01-01T09:00:00.000"),))
    image = coverage_png(result, 320, 60)
    assert image.startswith(PNG_MAGIC)
    import struct

    width, height = struct.unpack(">II", image[16:24])
    assert (width, height) == (320, 60)


def test_command_line_prints_intervals_and_json(capsys) -> None:
    from dasflex_core.cli import main

    argv = ["coverage", "--site", str(SITE_DIR), "Examples/Spectra",
            "--from", "1979-02-28T22:00", "--to", "1979-03-01T02:00", "--bin", "600"]
    assert main(argv) == 0
    assert capsys.readouterr().out.split() == ["1979-03-01T00:00:00.000", "1979-03-01T02:00:00.000"]
    assert main([*argv, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["intervals"] == [["1979-03-01T00:00:00.000", "1979-03-01T02:00:00.000"]]
    assert document["bin_seconds"] == 600


def test_command_line_errors_are_one_line(capsys) -> None:
    from dasflex_core.cli import main

    assert main(["coverage", "--site", str(SITE_DIR), "Examples/None",
                 "--from", "2017-01-01", "--to", "2017-01-02"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("dasflex coverage: no data source") and error.count("\n") == 1


def call(app, path: str, query: str) -> tuple[int, dict, bytes]:
    reply = wsgi_get(app, path, query, remote_addr=CLIENT_ADDRESS)
    return reply.status, reply.header_map, reply.body


@pytest.fixture(scope="module")
def app():
    from dasflex_core.protocols.wsgi import make_wsgi_app
    from dasflex_core.settings import load_settings

    return make_wsgi_app(load_settings(environ={}, site_dir=SITE_DIR))


def test_coverage_route_serves_a_png(app) -> None:
    status, headers, body = call(app, "/source/examples/spectra/coverage.png",
                                 "from=1979-03-01&to=1979-03-02")
    assert status == 200
    assert headers["content-type"] == "image/png"
    assert body.startswith(PNG_MAGIC)


@pytest.mark.parametrize(("query", "expected"), [
    ("from=1979-01-01&to=1981-01-01", 413),
    ("from=1979-03-02&to=1979-03-01", 400),
    ("from=%3Cscript%3E&to=1979-03-01", 400),
])
def test_coverage_route_bounds_its_range(app, query: str, expected: int) -> None:
    status, headers, _ = call(app, "/source/examples/spectra/coverage.png", query)
    assert status == expected
    assert headers["content-type"].startswith("text/plain")


def test_coverage_route_unknown_source_is_404(app) -> None:
    status, _, _ = call(app, "/source/examples/nothing/coverage.png", "from=2017-01-01&to=2017-01-02")
    assert status == 404


def test_protected_source_coverage_needs_credentials(app) -> None:
    status, headers, _ = call(app, "/source/examples/auth/coverage.png",
                              "from=2017-01-01&to=2017-01-02")
    assert status == 401
    assert "www-authenticate" in headers


def test_form_page_shows_the_coverage_plot(app) -> None:
    status, _, body = call(app, "/source/examples/spectra.html", "")
    assert status == 200
    assert b"/source/examples/spectra/coverage.png?from=1979-03-01&amp;to=1979-03-05" in body
