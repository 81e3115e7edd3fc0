"""How to install a Python module a command needs: the ``dasflex`` extra that brings it.

``pyproject.toml``'s optional dependencies are the one owner of which extra
installs which library; :func:`install_hint` reads them from the installed
distribution's metadata (``dasflex check`` and the table programs use it
when a library is missing).  Kept apart from
:mod:`~dasflex_core.commands.requirements` so that planning never loads
:mod:`importlib.metadata`.

Examples
--------
>>> install_hint("no_such_module_here")
'pip install no_such_module_here'
"""

from __future__ import annotations

import re
from functools import cache
from importlib import metadata

__all__ = ["DISTRIBUTION", "install_hint"]

#: The distribution whose extras say how to install a missing module.
DISTRIBUTION = "dasflex"
#: A requirement of the distribution that belongs to an extra: ``name ...; extra == "x"``.
_EXTRA_REQUIREMENT = re.compile(
    r"^\s*([A-Za-z0-9_.-]+)[^;]*;\s*extra\s*==\s*['\"]([^'\"]+)['\"]")
#: Extras that gather others (never the one to name).
_BUNDLES = ("all", "dev")


@cache
def install_hint(module: str) -> str:
    """How to install ``module``: ``pip install 'dasflex[EXTRA]'`` when an extra has it."""
    try:
        requirements = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        requirements = []
    wanted = _normal(module)
    for text in requirements:
        match = _EXTRA_REQUIREMENT.match(text)
        if match and _normal(match.group(1)) == wanted and match.group(2) not in _BUNDLES:
            return f"pip install '{DISTRIBUTION}[{match.group(2)}]'"
    return f"pip install {module}"


def _normal(name: str) -> str:
    """A distribution or module name compared loosely (case, ``_`` and ``-``)."""
    return name.lower().replace("_", "-")
