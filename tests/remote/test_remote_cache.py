"""A remote source uses the multi-resolution cache: built blocks answer coarse requests,
which then never reach the remote (requests are counted at the HAPI test server)."""

from __future__ import annotations

import json
from pathlib import Path

from dasflex_core.protocols.wsgi import make_wsgi_app
from dasflex_core.remote.policy import POLICY_VARIABLE
from dasflex_core.settings import load_settings
from tests.support.das2_streams import decoded_records
from tests.support.processes import dasflex
from tests.support.wsgi import call


def cached_site(root: Path, url: str) -> Path:
    (root / "Remote").mkdir(parents=True)
    (root / "Remote" / "Ramp.json").write_text(json.dumps({
        "version": "1", "title": "Remote ramp, cached",
        "remote": {"type": "hapi", "server": url, "dataset": "ramp", "parameters": ["value"]},
        "validRange": ["2020-01-01", "2020-01-10"],
        "cacheLevels": ["600 s | daily"]}))
    return root


def test_coarse_requests_are_answered_from_blocks(hapi_server, tmp_path, monkeypatch) -> None:
    site, cache, locks = cached_site(tmp_path / "site", hapi_server.url), tmp_path / "cache", \
        tmp_path / "locks"
    built = dasflex("cache", "build", "Remote/Ramp", "--from", "2020-01-01", "--to", "2020-01-03",
                    "--site", str(site), "--cache-dir", str(cache),
                    DASFLEX_REMOTE_LOCK_DIR=str(locks), DASFLEX_REMOTE_RATE="100")
    assert built.returncode == 0, built.stderr
    assert built.stderr.splitlines()[-1] == "2 built, 0 failed, 0 pending"
    assert len(hapi_server.data_requests()) == 2  # one fetch per daily block
    assert len(list(cache.rglob("*.d2s"))) == 2

    monkeypatch.setenv(POLICY_VARIABLE, "")  # restored after the test (the app exports its own)
    settings = load_settings(environ={}, site_dir=site, cache_dir=cache, cache_on_demand=False,
                             remote_lock_dir=locks, remote_rate=100.0)
    app = make_wsgi_app(settings)
    query = "server=dataset&dataset=Remote/Ramp&start_time=2020-01-01&end_time=2020-01-03"
    status, body = call(app, "/", query + "&resolution=3600")
    assert status == 200
    _, records = decoded_records(body)
    assert len(records) == 48
    assert len(hapi_server.data_requests()) == 2  # the coarse request never reached the remote

    status, body = call(app, "/", query.replace("2020-01-03", "2020-01-01T02:00") + "&resolution=60")
    assert status == 200 and len(decoded_records(body)[1]) == 120
    assert len(hapi_server.data_requests()) == 3  # finer than the blocks: the remote is asked
