from __future__ import annotations

import math
import sqlite3

from licbench.bench.store import Record, Store


def make_record(key: str, error: str | None = None) -> Record:
    return Record(
        job_key=key,
        codec="jpeg",
        codec_key="k",
        codec_version="v",
        quality=50.0,
        image="a.png",
        image_sha256="s",
        width=4,
        height=2,
        bytes=10,
        bpp=10.0,
        metrics={"psnr-rgb": math.inf, "ms-ssim-rgb": math.nan},
        error=error,
    )


def test_round_trip_keeps_every_field(tmp_path):
    with Store(tmp_path / "r.sqlite") as store:
        record = make_record("a")
        store.put(record)
        got = store.get(["a", "missing"])
    assert set(got) == {"a"}
    assert got["a"].metrics["psnr-rgb"] == math.inf
    assert math.isnan(got["a"].metrics["ms-ssim-rgb"])
    assert got["a"].bpp == 10.0 and got["a"].created == record.created


def test_failed_jobs_are_not_finished_and_are_replaced(tmp_path):
    with Store(tmp_path / "r.sqlite") as store:
        store.put(make_record("a", error="boom"))
        assert store.finished(["a"]) == set()
        store.put(make_record("a"))
        assert store.finished(["a"]) == {"a"}
        assert store.count() == 1
        assert store.integrity_ok()


def test_committed_rows_are_visible_to_another_connection_at_once(tmp_path):
    path = tmp_path / "r.sqlite"
    with Store(path) as store:
        store.put(make_record("a"))
        other = sqlite3.connect(path)
        assert other.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 1
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        other.close()
