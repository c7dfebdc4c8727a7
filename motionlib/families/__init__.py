"""Model families, one module each (``motionlib/families/<name>.py``), and the registry that lists them.

    from motionlib import families
    families.get("latte").paper_best_tau     # 700
    families.names()                         # every registered family, in the paper's order
    families.paper_names()                   # the paper's three
    families.toy_names()                     # the families with a toy-world recipe

A new family is one new module in this folder that calls :func:`register` (see ``latte.py``). A
family module kept elsewhere (a plugin, a test's fake family) is loaded by naming it in the
``MOTIONLIB_FAMILIES`` environment variable: module names or ``.py`` paths, separated by commas, so
that notebooks and other processes see it too.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
from pathlib import Path

from motionlib.errors import UnknownFamilyError
from motionlib.families.family import Family, LoraDefaults, ToyRecipe, ToySize

__all__ = ["Family", "LoraDefaults", "ToyRecipe", "ToySize", "all_families", "get", "names", "paper_names",
           "register", "toy_names", "unregister"]

_REGISTRY: dict[str, Family] = {}
_OWN_MODULES = ("family",)  # modules of this package that define no family
_loaded = False


def register(family: Family) -> Family:
    """Add ``family`` to the registry (a family module calls this once, at import)."""
    known = _REGISTRY.get(family.name)
    if known is not None and known != family:
        raise ValueError(f"two different families named {family.name!r} are registered")
    _REGISTRY[family.name] = family
    return family


def unregister(name: str) -> None:
    """Remove a registered family (a test's fake family, after the test)."""
    _REGISTRY.pop(name, None)


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in pkgutil.iter_modules(__path__):
        if module.name not in _OWN_MODULES:
            importlib.import_module(f"{__name__}.{module.name}")
    for entry in filter(None, (e.strip() for e in os.environ.get("MOTIONLIB_FAMILIES", "").split(","))):
        load_module(entry)


def load_module(entry: str) -> None:
    """Import a family module by module name or ``.py`` path (it registers its family)."""
    if entry.endswith(".py"):
        path = Path(entry).expanduser().resolve()
        if not path.is_file():
            raise UnknownFamilyError(f"MOTIONLIB_FAMILIES names {entry}, which does not exist")
        spec = importlib.util.spec_from_file_location(f"motionlib_family_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        importlib.import_module(entry)


def all_families() -> list[Family]:
    """Every registered family, in the paper's order (then by name)."""
    _load()
    return sorted(_REGISTRY.values(), key=lambda f: (f.order, f.name))


def names() -> list[str]:
    return [f.name for f in all_families()]


def paper_names() -> list[str]:
    """The paper's models (what the paper profile and three-family figures run)."""
    return [f.name for f in all_families() if f.in_paper]


def toy_names() -> list[str]:
    """Families with a toy-world recipe (``motionlib toyworld train --family``)."""
    return [f.name for f in all_families() if f.toy is not None]


def get(name: str) -> Family:
    """The family called ``name`` (case-insensitive); a one-line error listing the known ones."""
    _load()
    try:
        return _REGISTRY[str(name).lower()]
    except KeyError:
        raise UnknownFamilyError(f"unknown model family {name!r}; choose one of: {', '.join(names())}") from None
