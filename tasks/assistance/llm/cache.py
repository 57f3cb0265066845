"""On-disk cache of LLM requests: a re-run (or a resumed run) pays nothing and gets the
same answers.

Key: ``sha256`` of the canonical JSON of ``{"model": identity, "request": payload}``, where
the identity names the model exactly (local: sha256 of its files; server: base URL and
model name) and the payload holds the prompt and every parameter that shapes the answer.
Storage: one SQLite file (``requests.sqlite3``) in the cache directory; each answer is
committed as soon as it arrives, so an interrupted run keeps every answer it paid for.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any


def request_key(identity: str, payload: dict[str, Any]) -> str:
    """sha256 hex of the canonical JSON of (model identity, request payload)."""
    text = json.dumps({"model": identity, "request": payload}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class RequestCache:
    """A persistent key -> JSON answer store (SQLite, safe across processes)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "requests.sqlite3"
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=60.0, check_same_thread=False)
        with self._conn:
            self._conn.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, answer TEXT NOT NULL)")

    def get(self, key: str) -> Any | None:
        """The stored answer, or None."""
        with self._lock:
            row = self._conn.execute("SELECT answer FROM answers WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, answer: Any) -> None:
        """Store an answer (committed at once)."""
        text = json.dumps(answer, sort_keys=True, ensure_ascii=False)
        with self._lock, self._conn:
            self._conn.execute("INSERT OR REPLACE INTO answers (key, answer) VALUES (?, ?)", (key, text))

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        self._conn.close()
