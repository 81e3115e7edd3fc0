"""The site directory a subcommand works on: ``--site``, else the configured one."""

from __future__ import annotations

from pathlib import Path


def configured_site_dir() -> Path:
    """The site of the settings (``DASFLEX_SITE_DIR``, the config file, else the examples)."""
    from dasflex_core.settings import load_settings

    return load_settings().site_dir


def existing_site_dir(site: Path | None) -> Path:
    """``site`` or the configured site; DefinitionError when it is not a directory."""
    site_dir = site if site is not None else configured_site_dir()
    if not Path(site_dir).is_dir():
        from dasflex_core.errors import DefinitionError

        raise DefinitionError(str(site_dir), None, "no such site directory")
    return Path(site_dir)
