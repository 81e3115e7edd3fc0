"""Settings: defaults, then a TOML file, then DASFLEX_* variables, validated once."""

from __future__ import annotations

from pathlib import Path

import pytest

from dasflex_core.errors import DefinitionError
from dasflex_core.settings import Settings, load_settings, setting_help, setting_names


def test_defaults_point_at_the_bundled_examples() -> None:
    settings = load_settings(environ={})
    assert settings.site_dir.is_dir()
    assert settings.hapi_enabled is True
    assert settings.server_url == ""


def test_file_then_environment_then_overrides(tmp_path: Path) -> None:
    config = tmp_path / "dasflex.toml"
    config.write_text(f'site_dir = "{tmp_path}"\nsite_title = "From file"\n'
                      'hapi_enabled = false\nfirst_byte_timeout = 5\n')
    settings = load_settings(config, environ={"DASFLEX_SITE_TITLE": "From env"})
    assert settings.site_dir == tmp_path
    assert settings.site_title == "From env"
    assert settings.hapi_enabled is False
    assert settings.first_byte_timeout == 5.0
    assert load_settings(config, environ={}, site_title="Arg").site_title == "Arg"


def test_config_file_from_the_environment_and_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    config = tmp_path / "conf.toml"
    config.write_text('[dasflex]\nsite_dir = "site"\nserver_url = "https://x.org/das/"\n')
    settings = load_settings(environ={"DASFLEX_CONFIG": str(config)})
    assert settings.site_dir == (tmp_path / "site").resolve()
    assert settings.server_url == "https://x.org/das"


@pytest.mark.parametrize(("environ", "key"), [
    ({"DASFLEX_HAPI_ENABLED": "maybe"}, "DASFLEX_HAPI_ENABLED"),
    ({"DASFLEX_TOTAL_TIMEOUT": "soon"}, "DASFLEX_TOTAL_TIMEOUT"),
    ({"DASFLEX_TOTAL_TIMEOUT": "-1"}, "total_timeout"),
    ({"DASFLEX_SITE_DIR": "/no/such/dir"}, "site_dir"),
    ({"DASFLEX_SERVER_URL": "ftp://x"}, "server_url"),
    ({"DASFLEX_LOGO_FILE": "/no/logo.png"}, "logo_file"),
])
def test_bad_values_name_the_key(environ: dict[str, str], key: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_settings(environ=environ)
    assert caught.value.where == key


def test_unknown_file_keys_and_bad_toml(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('sitedir = "x"\n')
    with pytest.raises(DefinitionError, match="unknown setting"):
        load_settings(config, environ={})
    config.write_text("site_dir = \n")
    with pytest.raises(DefinitionError, match="not valid TOML"):
        load_settings(config, environ={})
    with pytest.raises(DefinitionError, match="cannot read"):
        load_settings(tmp_path / "missing.toml", environ={})


def test_unrelated_environment_is_ignored() -> None:
    settings = load_settings(environ={"DASFLEX_UNRELATED_THING": "1", "HOME": "/x"})
    assert isinstance(settings, Settings)


def test_every_setting_has_help() -> None:
    assert set(setting_help()) == set(setting_names())
    assert all(text for text in setting_help().values())


def test_job_settings_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(environ={
        "DASFLEX_CACHE_DIR": str(tmp_path / "cache"), "DASFLEX_REDIS_URL": "redis://h:6379/1",
        "DASFLEX_JOB_QUEUE": "blocks", "DASFLEX_CACHE_ON_DEMAND": "no",
        "DASFLEX_JOB_WORKERS": "3", "DASFLEX_JOB_TIMEOUT": "90"})
    assert settings.cache_dir == tmp_path / "cache"
    assert (settings.redis_url, settings.job_queue) == ("redis://h:6379/1", "blocks")
    assert settings.cache_on_demand is False
    assert (settings.job_workers, settings.job_timeout) == (3, 90.0)


def test_job_setting_defaults_are_embedded_and_uncached() -> None:
    settings = load_settings(environ={})
    assert settings.cache_dir is None and settings.redis_url == ""
    assert settings.cache_on_demand is True and settings.job_workers >= 1


@pytest.mark.parametrize(("environ", "key"), [
    ({"DASFLEX_REDIS_URL": "http://h:6379"}, "redis_url"),
    ({"DASFLEX_JOB_WORKERS": "two"}, "DASFLEX_JOB_WORKERS"),
    ({"DASFLEX_JOB_WORKERS": "1.5"}, "DASFLEX_JOB_WORKERS"),
    ({"DASFLEX_JOB_WORKERS": "0"}, "job_workers"),
    ({"DASFLEX_JOB_QUEUE": " "}, "job_queue"),
    ({"DASFLEX_CACHE_DIR": __file__}, "cache_dir"),
])
def test_bad_job_settings_name_the_key(environ: dict[str, str], key: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_settings(environ=environ)
    assert caught.value.where == key


def test_whole_numbers_from_a_file(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("job_workers = 4\njob_queue_limit = 10.0\n")
    settings = load_settings(config, environ={})
    assert (settings.job_workers, settings.job_queue_limit) == (4, 10)
    config.write_text("job_workers = true\n")
    with pytest.raises(DefinitionError, match="integer"):
        load_settings(config, environ={})
