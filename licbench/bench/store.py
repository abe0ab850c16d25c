"""The result store: one SQLite row per finished job, committed as soon as the job finishes.

SQLite in WAL mode gives atomic, durable commits without a server: a run killed at any moment
keeps every row it committed and no half-written one, and a re-run computes only what is
missing. The primary key is the job key, so a job can never appear twice.

``synchronous=NORMAL`` is durable against the process dying (``kill -9``, a crash): a commit is
in the WAL file, which the operating system keeps. Only a power cut or kernel crash can roll back
the commits since the WAL was last synced (at a checkpoint: every :data:`WAL_CHECKPOINT_PAGES`
pages, a few seconds of a fast run), and even then the file stays consistent
(``PRAGMA integrity_check``).
Only the parent process of a run writes; workers (local or Dask) send their records back to it.

Opening checks what the file is before SQLite touches it (:func:`Store.__init__`): a folder, a
file that is not SQLite, another application's database or a corrupt one is a
:class:`StoreError` naming the file and what to do, and nothing is written to it (SQLite would
otherwise happily add our tables to someone else's database). A store that cannot be written
(read-only file or folder, immutable file) is opened read-only: enough for a finished run's
re-run and for ``licbench report``; a run that has jobs to compute is refused up front.

Besides the results: the report's crops, ``--decode-check`` rows, and each learned codec's
complexity figure (parameters, MACs, peak memory) per codec key, quality and image size, so it
is measured once per codec version and size, not once per run. Tables added by a later licbench
are created when an older store is opened for writing (``CREATE TABLE IF NOT EXISTS``); a
read-only older store reads as having none of their rows, and an older licbench ignores them.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from licbench.datasets.names import printable

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    job_key TEXT PRIMARY KEY,
    codec TEXT NOT NULL,
    codec_key TEXT NOT NULL,
    codec_version TEXT NOT NULL,
    quality REAL NOT NULL,
    image TEXT NOT NULL,
    image_sha256 TEXT NOT NULL,
    width INTEGER,
    height INTEGER,
    bytes INTEGER,
    bpp REAL,
    metrics TEXT NOT NULL,
    encode_s REAL,
    decode_s REAL,
    decode_stages TEXT NOT NULL,
    environment TEXT NOT NULL,
    error TEXT,
    created REAL NOT NULL,
    notes TEXT
);
CREATE INDEX IF NOT EXISTS results_codec ON results (codec_key, quality);
CREATE TABLE IF NOT EXISTS crops (
    key TEXT NOT NULL,
    box TEXT NOT NULL,
    png BLOB,
    note TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (key, box)
);
CREATE TABLE IF NOT EXISTS decode_checks (
    job_key TEXT NOT NULL,
    setup TEXT NOT NULL,
    result TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (job_key, setup)
);
CREATE TABLE IF NOT EXISTS complexity (
    codec_key TEXT NOT NULL,
    quality REAL NOT NULL,
    height INTEGER NOT NULL,
    width INTEGER NOT NULL,
    figure TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (codec_key, quality, height, width)
);
"""


@dataclass
class Record:
    """What one job produced: sizes, metrics and timings, or the error that stopped it."""

    job_key: str
    codec: str
    codec_key: str
    codec_version: str
    quality: float
    image: str
    image_sha256: str
    width: int | None = None
    height: int | None = None
    bytes: int | None = None
    bpp: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    encode_s: float | None = None
    decode_s: float | None = None
    decode_stages: dict[str, float] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    created: float = field(default_factory=time.time)
    #: what was done to the input to measure it (``palette image converted to RGB``), or None
    notes: str | None = None
    #: crops the job kept for the report, ``(key, box, png)`` (:mod:`licbench.bench.visual`):
    #: written into the crops table with the record, not a column of the results table
    crops: list[tuple[str, str, bytes]] = field(
        default_factory=list, repr=False, metadata={"column": False}
    )
    #: the codec's complexity figure measured on this job (a learned codec's first job of an
    #: image size in its worker: :mod:`licbench.bench.job_memory`), or None: written into the
    #: complexity table with the record (:meth:`Store.put_complexity`), not a results column
    complexity: dict[str, Any] | None = field(default=None, repr=False, metadata={"column": False})

    @property
    def ok(self) -> bool:
        return self.error is None


_JSON_FIELDS = ("metrics", "decode_stages", "environment")
#: columns added after the first release, with their SQL type: added to older stores on open
_ADDED_COLUMNS = {"notes": "TEXT"}


#: the results table's columns, in Record's field order
_COLUMNS = tuple(f.name for f in fields(Record) if f.metadata.get("column", True))
_INSERT_CROP = "INSERT OR REPLACE INTO crops (key, box, png, note, created) VALUES (?, ?, ?, ?, ?)"
_INSERT_COMPLEXITY = (
    "INSERT OR REPLACE INTO complexity (codec_key, quality, height, width, figure, created) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


def _complexity_row(
    codec_key: str, quality: float, height: int, width: int, figure: dict[str, Any], now: float
) -> tuple:
    return (codec_key, float(quality), int(height), int(width), _encode_json(figure), now)


_INSERT = (
    f"INSERT OR REPLACE INTO results ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_COLUMNS))})"
)


@functools.lru_cache(maxsize=64)
def _encode_environment(items: tuple) -> str:
    return _encode_json(dict(items))


def _row(record: Record) -> tuple:
    """A record as the values of a results row (``asdict`` copies deeply: ten times slower)."""
    values = []
    for name in _COLUMNS:
        value = getattr(record, name)
        if name == "environment":  # the same few dicts on every row of a codec: encoded once
            try:
                value = _encode_environment(tuple(value.items()))
            except TypeError:  # a value that cannot be a cache key (a list)
                value = _encode_json(value)
        elif name in _JSON_FIELDS:
            value = _encode_json(value)
        if isinstance(value, str):  # a file name that is not UTF-8 must not stop the run
            value = printable(value)
        values.append(value)
    return tuple(values)


#: the WAL is copied into the database (and synced) once it holds this many pages (40 MB at
#: 4 KiB), not SQLite's default 1,000: job keys are hashes, so each commit of a fast run touches
#: index pages all over the file, and a checkpoint every thousand of them made a commit's cost
#: grow with the store (160,000 rows in commits of 1,000: 5.4 s, 2.5 times 80,000's; 3.4 s and
#: 2.2 times with this, pages written several times between checkpoints copied once)
WAL_CHECKPOINT_PAGES = 10_000
#: the first 16 bytes of every SQLite 3 database file
SQLITE_HEADER = b"SQLite format 3\x00"
#: columns a results table must have to be licbench's (older stores lack the added ones)
_REQUIRED_COLUMNS = frozenset(
    {"job_key", "codec", "codec_key", "quality", "image", "image_sha256", "metrics", "error"}
)


class StoreError(RuntimeError):
    """A store that cannot be used as asked; the message names the file and what to do."""


def _writable(path: Path) -> bool:
    """Whether this process may write ``path`` (False for read-only and immutable files)."""
    return os.access(path, os.W_OK)


def _encode_json(value: Any) -> str:
    # NaN/inf are kept as JSON extensions: they are legitimate metric values (e.g. lossless PSNR)
    return json.dumps(value, sort_keys=True)


class Store:
    """A SQLite results file. Safe for one writer process and any number of readers."""

    def __init__(self, path: str | Path, *, create: bool = True, read_only: bool = False) -> None:
        """Open the store at ``path``, creating it when missing unless ``create`` is False.

        ``read_only`` opens it for reading only (``licbench report``); a store this process
        cannot write is opened that way too, and :attr:`read_only` says so. Raises
        :class:`StoreError` for anything that is not a usable licbench store.
        """
        self.path = Path(path)
        self.read_only = read_only
        self.why_read_only = "opened for reading" if read_only else ""
        self._check_file(create)
        if self.path.exists() and not read_only:
            stuck = [p for p in (self.path, self.path.parent) if not _writable(p)]
            if stuck:
                self.read_only = True
                what = "the file" if stuck[0] == self.path else "its folder"
                self.why_read_only = f"{what} is read-only or immutable"
        try:
            self._connection = self._open_read_only() if self.read_only else self._open()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{self.path}: not a usable SQLite database, corrupt or locked ({exc}); licbench "
                "leaves it as it is: move it away (or repair it with sqlite3 .recover) or give "
                "another --store"
            ) from None

    def _check_file(self, create: bool) -> None:
        """What is at ``path``, before SQLite opens it: a file that is SQLite, or nothing."""
        if self.path.is_dir():
            raise StoreError(
                f"{self.path}: is a folder; --store takes a file (e.g. results.sqlite)"
            )
        if not self.path.exists():
            if self.path.is_symlink():
                raise StoreError(f"{self.path}: a symbolic link to nothing; remove it or fix it")
            if not create or self.read_only:
                raise StoreError(
                    f"{self.path}: no result store there; check the path (licbench run writes "
                    "one; report reads it)"
                )
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"{self.path}: cannot create the store's folder: {exc.strerror or exc}"
                ) from None
            if not _writable(self.path.parent):
                raise StoreError(
                    f"{self.path}: cannot create a store there (the folder is read-only); give "
                    "another --store"
                )
            return
        try:
            with open(self.path, "rb") as f:
                header = f.read(len(SQLITE_HEADER))
        except OSError as exc:
            raise StoreError(
                f"{self.path}: cannot read the store: {exc.strerror or exc}; fix its permissions "
                "or give another --store"
            ) from None
        # an empty file (``touch results.sqlite``) is an empty database to SQLite: a new store
        if header and header != SQLITE_HEADER:
            raise StoreError(
                f"{self.path}: not a SQLite file, so not a licbench store; licbench will not "
                "write over it: move it away or give another --store"
            )

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            self._check_contents(connection)  # before any write: never add tables to theirs
        except BaseException:
            connection.close()
            raise
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        connection.executescript(SCHEMA)
        columns = {row[1] for row in connection.execute("PRAGMA table_info(results)")}
        for name, kind in _ADDED_COLUMNS.items():
            if name not in columns:  # a store written by an older licbench
                connection.execute(f"ALTER TABLE results ADD COLUMN {name} {kind}")
        return connection

    def _open_read_only(self) -> sqlite3.Connection:
        """A read-only connection; ``immutable=1`` when the WAL's index cannot be created.

        A WAL database needs its ``-shm`` file even to be read; in a read-only folder SQLite
        cannot create it, and a folder nobody can write is a database nobody can change, which
        is what ``immutable`` promises.
        """
        uri = "file:" + urllib.parse.quote(str(self.path.resolve()))
        try:
            connection = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=60)
            connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            connection = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=60)
        try:
            if "results" not in self._check_contents(connection):
                raise StoreError(
                    f"{self.path}: an empty store (no licbench results in it) that cannot be "
                    f"written ({self.why_read_only}); give the store the run wrote"
                )
        except BaseException:
            connection.close()
            raise
        return connection

    def _check_contents(self, connection: sqlite3.Connection) -> set[str]:
        """Refuse another application's database and a corrupt one (nothing is written)."""
        tables = {
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        if tables and "results" not in tables:
            raise StoreError(
                f"{self.path}: a SQLite database of another application (tables: "
                f"{', '.join(sorted(tables)[:5])}); licbench will not add its tables to it: "
                "give another --store"
            )
        if "results" in tables:
            columns = {row[1] for row in connection.execute("PRAGMA table_info(results)")}
            missing = sorted(_REQUIRED_COLUMNS - columns)
            if missing:
                raise StoreError(
                    f"{self.path}: its 'results' table is not licbench's (no column "
                    f"{', '.join(missing)}); licbench will not use it: give another --store"
                )
        verdict = connection.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise StoreError(
                f"{self.path}: the database is corrupt ({verdict}); licbench leaves it as it is: "
                "move it away (or repair it with sqlite3 .recover) and run again"
            )
        return tables

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def require_writable(self, why: str) -> None:
        """:class:`StoreError` saying what cannot be done when the store is read-only."""
        if self.read_only:
            raise StoreError(
                f"{self.path}: the store is read-only ({self.why_read_only}) and {why}; make it "
                "writable or give another --store"
            )

    def put(self, record: Record) -> None:
        """Write one record in its own transaction (replacing an earlier failed attempt)."""
        self.put_many([record])

    def put_many(self, records: Sequence[Record]) -> None:
        """Write ``records`` in one transaction: all of them or, if it fails, none.

        A run commits what came back in the last fraction of a second together
        (:func:`licbench.bench.runner.execute`): one commit per row would cost the parent more
        than a fast codec's job.
        """
        if not records:
            return
        self.require_writable("a result needs storing")
        rows = [_row(record) for record in records]
        now = time.time()
        crops = [(*crop, "", now) for record in records for crop in record.crops]
        figures = [
            _complexity_row(r.codec_key, r.quality, r.height, r.width, r.complexity, now)
            for r in records
            if r.complexity is not None and r.height is not None and r.width is not None
        ]
        what = "storing a result" if len(rows) == 1 else f"storing {len(rows)} results"
        with self._writing(what):
            self._connection.execute("BEGIN IMMEDIATE")
            self._connection.executemany(_INSERT, rows)
            if crops:
                self._connection.executemany(_INSERT_CROP, crops)
            if figures:
                self._connection.executemany(_INSERT_COMPLEXITY, figures)

    @contextlib.contextmanager
    def _writing(self, what: str) -> Iterator[None]:
        """One transaction; a failed write (disk full, ...) is a :class:`StoreError`.

        The transaction is rolled back, so the store keeps every row committed before.
        """
        try:
            with self._connection:
                yield
        except sqlite3.OperationalError as exc:
            full = "full" in str(exc)
            advice = "free some space" if full else "check the disk and the file"
            raise StoreError(
                f"{self.path}: {'disk full' if full else 'cannot write'} while {what} ({exc}); "
                f"every finished job is kept: {advice} and run the same command again"
            ) from None

    def get(self, job_keys: Iterable[str]) -> dict[str, Record]:
        """The stored records among ``job_keys``, by key."""
        keys = list(job_keys)
        found: dict[str, Record] = {}
        cursor = self._connection.cursor()
        cursor.row_factory = sqlite3.Row
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in cursor.execute(f"SELECT * FROM results WHERE job_key IN ({marks})", chunk):
                data = dict(row)
                for name in _JSON_FIELDS:
                    data[name] = json.loads(data[name])
                found[data["job_key"]] = Record(**data)
        return found

    def finished(self, job_keys: Iterable[str]) -> set[str]:
        """Keys of jobs that finished without error: these are never computed again."""
        return {row[0] for row in self._select("job_key", job_keys, "error IS NULL")}

    def stored(self, job_keys: Iterable[str]) -> set[str]:
        """Keys of jobs with a row, finished or failed."""
        return {row[0] for row in self._select("job_key", job_keys)}

    def fingerprint(self, job_keys: Iterable[str]) -> str:
        """A digest of the stored rows of ``job_keys`` (which exist, and when each was written).

        Two equal fingerprints mean the same rows: outputs built from the first are still
        current. Cheap (no JSON is decoded), so an up-to-date re-run can skip rebuilding.
        """
        keys = list(job_keys)
        rows = sorted(self._select("job_key, created, error IS NULL", keys))
        digest = hashlib.sha256()
        for key, created, ok in rows:
            digest.update(f"{key}:{created!r}:{ok}\n".encode())
        if self._has_table("decode_checks"):  # a decode check added later changes the outputs
            checks = self._select("job_key, setup, created", keys, table="decode_checks")
            for key, setup, created in sorted(checks):
                digest.update(f"check:{key}:{setup}:{created!r}\n".encode())
        return digest.hexdigest()

    def _select(
        self, columns: str, job_keys: Iterable[str], where: str = "", table: str = "results"
    ) -> list[tuple]:
        keys = list(job_keys)
        condition = f" AND {where}" if where else ""
        rows: list[tuple] = []
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows.extend(
                self._connection.execute(
                    f"SELECT {columns} FROM {table} WHERE job_key IN ({marks}){condition}", chunk
                )
            )
        return rows

    def put_crop(self, key: str, box: str, png: bytes | None, note: str = "") -> None:
        """Store the PNG of one crop: of a job's decoded image (``key`` = its job key) or of an
        original (``key`` = ``image:SHA256``); ``png`` None with a ``note`` when it failed."""
        self.require_writable("a crop for the report needs storing")
        with self._writing("storing a crop"):
            self._connection.execute("BEGIN IMMEDIATE")
            self._connection.execute(_INSERT_CROP, (key, box, png, note, time.time()))

    def get_crops(self, keys: Iterable[str], box: str) -> dict[str, tuple[bytes | None, str]]:
        """``{key: (png or None, note)}`` of the stored crops among ``keys`` at ``box``."""
        keys = list(keys)
        found: dict[str, tuple[bytes | None, str]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT key, png, note FROM crops WHERE box = ? AND key IN ({marks})"
            for key, png, note in self._connection.execute(query, [box, *chunk]):
                found[key] = (png, note)
        return found

    def cropped(self, keys: Iterable[str]) -> dict[str, set[str]]:
        """``{key: boxes}``: where a crop (a PNG, not a note) is stored for each of ``keys``."""
        keys = list(keys)
        found: dict[str, set[str]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT key, box FROM crops WHERE png IS NOT NULL AND key IN ({marks})"
            for key, box in self._connection.execute(query, chunk):
                found.setdefault(key, set()).add(box)
        return found

    def put_decode_checks(self, rows: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
        """Store ``(job key, setup name, result)`` rows of ``--decode-check`` in one transaction
        (see :mod:`licbench.bench.decode_check`); a row for the same job and setup is replaced."""
        self.require_writable("decode-check results need storing")
        now = time.time()
        values = [(key, setup, _encode_json(result), now) for key, setup, result in rows]
        with self._writing("storing decode-check results"):
            self._connection.execute("BEGIN IMMEDIATE")
            self._connection.executemany(
                "INSERT OR REPLACE INTO decode_checks (job_key, setup, result, created) "
                "VALUES (?, ?, ?, ?)",
                values,
            )

    def get_decode_checks(self, job_keys: Iterable[str]) -> dict[tuple[str, str], dict[str, Any]]:
        """``{(job key, setup): result}`` of the stored decode checks of ``job_keys``."""
        if not self._has_table("decode_checks"):  # a read-only store of an older licbench
            return {}
        rows = self._select("job_key, setup, result", job_keys, table="decode_checks")
        return {(key, setup): json.loads(result) for key, setup, result in rows}

    def put_complexity(
        self, codec_key: str, quality: float, height: int, width: int, figure: dict[str, Any]
    ) -> None:
        """Store a codec's complexity figure (parameters, MACs, peak memory) for one quality
        and image size; a figure for the same ones is replaced."""
        self.require_writable("a complexity figure needs storing")
        row = _complexity_row(codec_key, quality, height, width, figure, time.time())
        with self._writing("storing a complexity figure"):
            self._connection.execute("BEGIN IMMEDIATE")
            self._connection.execute(_INSERT_COMPLEXITY, row)

    def get_complexity(
        self, codec_key: str, quality: float, height: int, width: int
    ) -> dict[str, Any] | None:
        """The stored complexity figure of a codec (its key) at one quality and image size, or
        None (also for a read-only store of an older licbench, which has no such table)."""
        if not self._has_table("complexity"):
            return None
        row = self._connection.execute(
            "SELECT figure FROM complexity WHERE codec_key = ? AND quality = ? AND height = ? "
            "AND width = ?",
            (codec_key, float(quality), int(height), int(width)),
        ).fetchone()
        return json.loads(row[0]) if row is not None else None

    def complexity_sizes(self, codec_key: str, quality: float) -> tuple[tuple[int, int], ...]:
        """The image sizes ``(height, width)`` the store has a complexity figure for, of a
        codec (its key) at one quality."""
        if not self._has_table("complexity"):
            return ()
        rows = self._connection.execute(
            "SELECT height, width FROM complexity WHERE codec_key = ? AND quality = ? "
            "ORDER BY height, width",
            (codec_key, float(quality)),
        )
        return tuple((int(h), int(w)) for h, w in rows)

    def _has_table(self, name: str) -> bool:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return self._connection.execute(query, (name,)).fetchone() is not None

    def count(self) -> int:
        return self._connection.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def integrity_ok(self) -> bool:
        return self._connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
