"""A table program whose library is missing says how to install it, in one line.

The planner never routes a request to such a program (its command
``requires`` the module), so this answers people who run it by hand.
Imported by a program when it runs, before its writer loads the library.
"""

from __future__ import annotations

from dasflex_core.commands.extras import install_hint
from dasflex_core.commands.requirements import module_available
from dasflex_core.tools.program import UsageError

__all__ = ["require_module"]


def require_module(module: str) -> None:
    """Raise a one-line :class:`UsageError` when the Python ``module`` is not installed."""
    if not module_available(module):
        raise UsageError(f"the Python module {module} is not installed ({install_hint(module)})")
