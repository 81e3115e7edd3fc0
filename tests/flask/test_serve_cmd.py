"""``dasflex serve``: its options, and a master that stays free of numpy and networkx."""

from __future__ import annotations

import argparse
import json
import re
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from dasflex_flask import serve_cmd

MASTER = '''
import argparse, json, sys
from dasflex_flask import serve_cmd, server_of
args = argparse.Namespace(site=sys.argv[1], config=None, redis=None, cache_dir=None,
                          host="127.0.0.1", port=8080)
app = serve_cmd.build_app(args)
cache = server_of(app).cache
heavy = [m for m in ("numpy", "networkx", "jsonschema") if m in sys.modules]
client = app.test_client()
statuses = [client.get(path).status_code for path in (
    "/hapi/catalog", "/hapi/info?dataset=Test/Ramp", "/?server=list", "/source/test.json",
    "/source/test/ramp/flex.json")]
print(json.dumps({"heavy": heavy, "statuses": statuses,
                  "heavy_after_metadata": [m for m in ("numpy", "networkx", "jsonschema")
                                           if m in sys.modules],
                  "infos": sorted(k for k in cache if k.startswith("hapi-info:")),
                  "ramp": cache.get("hapi-info:Test/Ramp")}))
'''


def _parse(*arguments: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serve_cmd.register(parser.add_subparsers())
    return parser.parse_args(["serve", *arguments])


def test_redis_and_cache_dir_override_settings(tmp_path: Path) -> None:
    args = _parse("--site", str(tmp_path), "--redis", "redis://127.0.0.1:6390/2",
                  "--cache-dir", str(tmp_path / "blocks"))
    assert serve_cmd.settings_overrides(args) == {"site_dir": tmp_path.resolve(),
                                          "redis_url": "redis://127.0.0.1:6390/2",
                                          "cache_dir": (tmp_path / "blocks").resolve()}
    assert serve_cmd.settings_overrides(_parse()) == {}


def test_help_names_the_new_options() -> None:
    done = subprocess.run([sys.executable, "-m", "dasflex_core", "serve", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "--redis URL" in done.stdout and "redis_url" in done.stdout
    assert "--cache-dir DIR" in done.stdout and "cache_dir" in done.stdout


@pytest.mark.parametrize("option", [("--redis", "http://example.org/"),
                                    ("--cache-dir", "/etc/hostname")])
def test_bad_overrides_stop_with_one_line(option: tuple[str, str], site_dir: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "dasflex_core", "serve", "--site", str(site_dir),
                           "--port", "0", *option], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dasflex serve: ")
    assert option[0].lstrip("-").replace("-", "_") in lines[0]


def test_master_holds_hapi_infos_without_numpy_or_networkx(site_dir: Path) -> None:
    done = subprocess.run([sys.executable, "-c", MASTER, str(site_dir)], capture_output=True,
                          text=True, timeout=120, check=True)
    report = json.loads(done.stdout)
    assert report["heavy"] == []
    assert report["statuses"] == [200] * 5
    assert report["heavy_after_metadata"] == []
    assert report["infos"] == ["hapi-info:Test/Fails", "hapi-info:Test/Late",
                               "hapi-info:Test/Ramp"]
    assert [p["name"] for p in report["ramp"]["parameters"]] == ["Time", "value"]


def test_served_info_is_the_one_built_before_fork(server_url: str) -> None:
    with urllib.request.urlopen(f"{server_url}/hapi/info?dataset=Test/Ramp", timeout=20) as reply:
        info = json.loads(reply.read())
    assert info["status"]["code"] == 1200
    assert info["startDate"].startswith("2020-01-01")
    assert [p["name"] for p in info["parameters"]] == ["Time", "value"]


JSON_MASTER = '''
import argparse, json, sys
from dasflex_flask import serve_cmd, server_of
args = argparse.Namespace(site=sys.argv[1], config=sys.argv[2], redis=None, cache_dir=None,
                          host="127.0.0.1", port=8080)
app = serve_cmd.build_app(args)
print(json.dumps({"sources": len(server_of(app).site),
                  "jsonschema": "jsonschema" in sys.modules}))
'''


def test_master_checks_json_definitions_and_settings_without_jsonschema(tmp_path: Path) -> None:
    """The schema checks run in a forked child; the master trusts their digests."""
    from dasflex_core.sources.loader import load_site

    bundled = Path(__file__).resolve().parents[2] / "examples" / "site"
    assert any(source.definition_format == "json" for source in load_site(bundled))
    config = tmp_path / "dasflex.toml"
    config.write_text('site_title = "checked in a child"\nhapi_enabled = false\n')
    done = subprocess.run([sys.executable, "-c", JSON_MASTER, str(bundled), str(config)],
                          capture_output=True, text=True, timeout=120, check=True)
    report = json.loads(done.stdout)
    assert report["sources"] == len(load_site(bundled)) and report["jsonschema"] is False


def test_an_invalid_json_definition_still_stops_serve_with_one_line(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "Bad.json").write_text('{"title": 5}')
    done = subprocess.run([sys.executable, "-m", "dasflex_core", "serve", "--site", str(site),
                           "--port", "0"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dasflex serve: ") and "Bad.json" in lines[0]


def _serve(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dasflex_core", "serve", *arguments],
                          capture_output=True, text=True, timeout=120)


def test_a_busy_port_is_one_line(site_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _serve("--site", str(site_dir), "--host", "127.0.0.1", "--port", str(port))
    assert done.returncode == 1
    assert done.stderr == f"dasflex serve: port {port} is in use; pass --port\n"
    assert done.stdout == ""


@pytest.mark.parametrize("option, value", [("--port", "99999"), ("--port", "-1"),
                                           ("--workers", "0"), ("--threads", "0")])
def test_a_bad_number_names_its_option_alone(option: str, value: str) -> None:
    done = _serve(option, value)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dasflex serve: ")
    assert set(re.findall(r"--[a-z-]+", lines[0])) == {option} and value in lines[0]


def test_a_second_listener_on_a_port_in_use_is_refused() -> None:
    from dasflex_flask.master import bind_listener

    listener = bind_listener("127.0.0.1", 0)
    listener.listen()
    try:
        port = listener.getsockname()[1]
        with pytest.raises(OSError) as caught:
            bind_listener("127.0.0.1", port)
        from dasflex_core.cli.common import listen_problem

        assert listen_problem("127.0.0.1", port, caught.value) == (
            f"port {port} is in use; pass --port")
    finally:
        listener.close()
