"""Modules loaded on first attribute access, so a command imports only what it uses.

``lazy_module("study.service")`` returns the module object at once and runs its code the
first time one of its attributes is read (``importlib.util.LazyLoader``); a module
already imported is returned as it is. The command line uses it for the database and
service layers, which ``oversight analyze --from-csv`` never touches.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """The module ``name``, its code run on first attribute access."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:  # as an ordinary import does: ``study.db`` is an attribute of ``study``
        setattr(sys.modules[parent], child, module)
    return module
