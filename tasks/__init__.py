"""oversight-lab tasks: item banks (schema, import adapters) and AI assistance."""

from tasks.importers import FORMATS, ItemBank, ItemBankError, RowError, detect_format, read_item_bank
from tasks.items import Debate, DebateSide, Item, Quote, SentenceStance, Source

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
