"""The result store: one SQLite row per finished job, committed as soon as the job finishes.

SQLite in WAL mode gives atomic, durable commits without a server: a run killed at any moment
keeps every row it committed and no half-written one, and a re-run computes only what is
missing. The primary key is the job key, so a job can never appear twice.

``synchronous=NORMAL`` is durable against the process dying (``kill -9``, a crash): a commit is
in the WAL file, which the operating system keeps. Only a power cut or kernel crash can roll back
the last few commits, and even then the file stays consistent (``PRAGMA integrity_check``).
Only the parent process of a run writes; workers (local or Dask) send their records back to it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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

    @property
    def ok(self) -> bool:
        return self.error is None


_JSON_FIELDS = ("metrics", "decode_stages", "environment")
#: columns added after the first release, with their SQL type: added to older stores on open
_ADDED_COLUMNS = {"notes": "TEXT"}


def _encode_json(value: Any) -> str:
    # NaN/inf are kept as JSON extensions: they are legitimate metric values (e.g. lossless PSNR)
    return json.dumps(value, sort_keys=True)


class Store:
    """A SQLite results file. Safe for one writer process and any number of readers."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.executescript(SCHEMA)
        columns = {row[1] for row in self._connection.execute("PRAGMA table_info(results)")}
        for name, kind in _ADDED_COLUMNS.items():
            if name not in columns:  # a store written by an older licbench
                self._connection.execute(f"ALTER TABLE results ADD COLUMN {name} {kind}")

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put(self, record: Record) -> None:
        """Write one record in its own transaction (replacing an earlier failed attempt)."""
        row = asdict(record)
        for name in _JSON_FIELDS:
            row[name] = _encode_json(row[name])
        columns = ", ".join(row)
        placeholders = ", ".join(f":{name}" for name in row)
        with self._connection:
            self._connection.execute("BEGIN IMMEDIATE")
            self._connection.execute(
                f"INSERT OR REPLACE INTO results ({columns}) VALUES ({placeholders})", row
            )

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

    def fingerprint(self, job_keys: Iterable[str]) -> str:
        """A digest of the stored rows of ``job_keys`` (which exist, and when each was written).

        Two equal fingerprints mean the same rows: outputs built from the first are still
        current. Cheap (no JSON is decoded), so an up-to-date re-run can skip rebuilding.
        """
        rows = sorted(self._select("job_key, created, error IS NULL", job_keys))
        digest = hashlib.sha256()
        for key, created, ok in rows:
            digest.update(f"{key}:{created!r}:{ok}\n".encode())
        return digest.hexdigest()

    def _select(self, columns: str, job_keys: Iterable[str], where: str = "") -> list[tuple]:
        keys = list(job_keys)
        condition = f" AND {where}" if where else ""
        rows: list[tuple] = []
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows.extend(
                self._connection.execute(
                    f"SELECT {columns} FROM results WHERE job_key IN ({marks}){condition}", chunk
                )
            )
        return rows

    def put_crop(self, key: str, box: str, png: bytes | None, note: str = "") -> None:
        """Store the PNG of one crop: of a job's decoded image (``key`` = its job key) or of an
        original (``key`` = ``image:SHA256``); ``png`` None with a ``note`` when it failed."""
        with self._connection:
            self._connection.execute("BEGIN IMMEDIATE")
            self._connection.execute(
                "INSERT OR REPLACE INTO crops (key, box, png, note, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (key, box, png, note, time.time()),
            )

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

    def count(self) -> int:
        return self._connection.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def integrity_ok(self) -> bool:
        return self._connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
