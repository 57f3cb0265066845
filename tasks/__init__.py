"""oversight-lab tasks: item banks (schema, import adapters) and AI assistance.

The names below load their module on first use (PEP 562), so ``import tasks.limits``
(the database models, the command line) does not build the item-bank schema.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tasks.formats import FORMATS

if TYPE_CHECKING:
    from tasks.importers import ItemBank, ItemBankError, RowError, detect_format, read_item_bank
    from tasks.items import Debate, DebateSide, Item, Quote, SentenceStance, Source

_HOME = {"ItemBank": "tasks.importers", "ItemBankError": "tasks.importers", "RowError": "tasks.importers",
         "detect_format": "tasks.importers", "read_item_bank": "tasks.importers", "Debate": "tasks.items",
         "DebateSide": "tasks.items", "Item": "tasks.items", "Quote": "tasks.items",
         "SentenceStance": "tasks.items", "Source": "tasks.items"}

__all__ = [
    "FORMATS",
    "ItemBank",
    "Debate",
    "DebateSide",
    "Item",
    "ItemBankError",
    "Quote",
    "RowError",
    "SentenceStance",
    "Source",
    "detect_format",
    "read_item_bank",
]


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'tasks' has no attribute {name!r}")
