"""Database engine, sessions and migrations.

The URL comes from ``--db`` / ``OVERSIGHT_DATABASE_URL``; the default is an SQLite
file under ``data/`` (WAL journal, foreign keys on, busy timeout). PostgreSQL is the
scale-out engine; the same code runs on both.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

try:  # POSIX only; elsewhere SQLite's busy timeout alone arbitrates writers.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: Project root (holds data/ with the demo bank and config).
PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("OVERSIGHT_DATA_DIR", PROJECT_ROOT / "data"))
ENV_URL = "OVERSIGHT_DATABASE_URL"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Milliseconds an SQLite writer waits for the lock before failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def default_url() -> str:
    """The embedded default database: ``data/oversight.db``."""
    return f"sqlite:///{DATA_DIR / 'oversight.db'}"


def resolve_url(url: str | None = None) -> str:
    """Explicit URL, else ``OVERSIGHT_DATABASE_URL``, else the SQLite default."""
    return url or os.environ.get(ENV_URL) or default_url()


def _sqlite_setup(engine: Engine) -> None:
    # pysqlite's own transaction handling is off, so that we can issue BEGIN IMMEDIATE
    # for write transactions: a writer takes the lock up front instead of failing
    # with SQLITE_BUSY when it upgrades a read lock (the SQLAlchemy-documented recipe).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class _WriterQueue:
    """Queues SQLite writers of one database file: a thread lock, then an ``flock``.

    SQLite's busy handler makes a blocked writer *poll* (sleeping 1 ms ... 100 ms
    between tries), so under contention the lock is often free while every waiter
    sleeps, and unlucky writers wait seconds. Blocking on an OS file lock instead
    hands the database to the next writer the moment the last one commits. The
    lock file sits next to the database (``<db>-writer.lock``); it only orders
    writers, correctness still rests on ``BEGIN IMMEDIATE`` (a process that does not
    use the queue, e.g. the ``sqlite3`` shell, is arbitrated by the busy timeout).
    """

    def __init__(self, database: str):
        self.path = f"{database}-writer.lock"
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int:
        # flock belongs to the open file description: a descriptor inherited through
        # fork would be *shared* with the parent, so every process opens its own.
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def held(self) -> Iterator[None]:
        if fcntl is None:
            yield
            return
        with self._thread_lock:
            fd = self._file()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)


_writer_queues: dict[str, _WriterQueue] = {}


def _writer_queue(engine: Engine) -> _WriterQueue | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    queue = _writer_queues.get(database)
    if queue is None:
        queue = _writer_queues.setdefault(database, _WriterQueue(database))
    return queue


@lru_cache(maxsize=16)
def get_engine(url: str | None = None) -> Engine:
    """One engine per URL per process (pooled connections)."""
    resolved = resolve_url(url)
    parsed = make_url(resolved)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
    engine = create_engine(resolved, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _sqlite_setup(engine)
    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A transaction that will write: commits on success, rolls back on error.

    On SQLite it first queues behind other writers of the same file
    (:class:`_WriterQueue`), then starts with BEGIN IMMEDIATE (takes the write lock
    first, so it never fails upgrading a read lock).
    """
    queue = _writer_queue(engine) if is_sqlite(engine) else None
    if queue is None:
        with _transaction(engine) as session:
            yield session
        return
    with queue.held(), _transaction(engine) as session:
        yield session


@contextmanager
def _transaction(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        if is_sqlite(engine):
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


_immediate_engines: dict[int, tuple[Engine, Engine]] = {}


def _immediate(engine: Engine) -> Engine:
    """``engine`` with ``BEGIN IMMEDIATE`` transactions (shares its pool), made once."""
    hit = _immediate_engines.get(id(engine))
    if hit is None or hit[0] is not engine:
        hit = (engine, engine.execution_options(sqlite_begin="IMMEDIATE"))
        if len(_immediate_engines) > 64:
            _immediate_engines.clear()
        _immediate_engines[id(engine)] = hit
    return hit[1]


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """Like :func:`write_session`, but a Core connection (the rater hot path).

    Same guarantees: SQLite writers queue (:class:`_WriterQueue`) and start with
    ``BEGIN IMMEDIATE``; commits on success, rolls back on error.
    """
    if not is_sqlite(engine):
        with engine.begin() as conn:
            yield conn
        return
    queue = _writer_queue(engine)
    if queue is None:
        with _immediate(engine).begin() as conn:
            yield conn
        return
    with queue.held(), _immediate(engine).begin() as conn:
        yield conn


@contextmanager
def write_transaction(conn: Connection) -> Iterator[Connection]:
    """A write transaction on an already checked-out connection (not in a transaction).

    Lets a request read and then write on one pooled connection (one checkout, one
    pre-ping) with the same guarantees as :func:`write_connection`.
    """
    engine = conn.engine
    if not is_sqlite(engine):
        with conn.begin():
            yield conn
        return
    queue = _writer_queue(engine)
    conn.execution_options(sqlite_begin="IMMEDIATE")  # in place, for this checkout only
    try:
        if queue is None:
            with conn.begin():
                yield conn
        else:
            with queue.held(), conn.begin():
                yield conn
    finally:
        conn.execution_options(sqlite_begin="DEFERRED")


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A read transaction on a Core connection (rolled back on close)."""
    with engine.connect() as conn:
        yield conn


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A read-only transaction (never commits)."""
    # Closing (not rolling back) ends the transaction without expiring the loaded
    # objects, so callers can read them after the session is gone.
    with Session(engine, expire_on_commit=False) as session:
        yield session


if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig


def alembic_config(url: str) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig  # alembic loads only when migrating (~0.3 s)

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> str:
    """Apply migrations up to ``revision``; returns the resolved URL."""
    from alembic import command

    resolved = resolve_url(url)
    engine = get_engine(resolved)
    cfg = alembic_config(resolved)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return resolved


def current_revision(url: str | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with get_engine(resolve_url(url)).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
