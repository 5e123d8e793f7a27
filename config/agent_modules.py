"""The modules named in ``COORD_AGENT_MODULES``: checked and imported before a worker or beat starts.

A name that is not a module name, or a module that cannot be imported, stops the process with one line naming
the module and the reason, instead of Celery's traceback from deep inside its loader.
"""

from __future__ import annotations

import importlib
import re

_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class AgentModuleError(SystemExit):
    """An agent module cannot be used; raised as SystemExit so the process ends with just this message."""


def agent_module_names(text: str) -> list[str]:
    """The comma-separated module names of ``COORD_AGENT_MODULES`` (blank entries ignored).

    Raises:
        AgentModuleError: an entry is not a dotted module name.
    """
    names = [entry.strip() for entry in text.split(",") if entry.strip()]
    for name in names:
        if not _MODULE_NAME.match(name):
            raise AgentModuleError(f"COORD_AGENT_MODULES: {name[:80]!r} is not a module name (like mypackage.agents)")
    return names


def import_agent_modules(names: list[str]) -> None:
    """Import each module (their ``@agent`` tasks register themselves).

    Raises:
        AgentModuleError: a module cannot be imported; the message names it and says why.
    """
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise AgentModuleError(
                f"COORD_AGENT_MODULES: cannot import {name!r} ({type(error).__name__}: {error}); "
                "is its package installed or on PYTHONPATH?"
            ) from None
