"""The item-bank file formats ``tasks.importers`` reads (a light module: the command line's help uses it)."""

from __future__ import annotations

FORMATS: tuple[str, ...] = ("jsonl", "csv", "climate-fever")
