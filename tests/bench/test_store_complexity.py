"""The store's complexity table: figures per codec key, quality and image size; older stores."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from licbench.bench.store import Record, Store

FIGURE = {"params": {"total": 7028003}, "kmac_per_pixel": {"decoder": 47.56}, "input": [512, 768]}


def record(key: str, complexity: dict | None, height: int = 512, width: int = 768) -> Record:
    return Record(
        job_key=key,
        codec="compressai:model=mbt2018-mean",
        codec_key="codec-a",
        codec_version="v",
        quality=3.0,
        image=f"{key}.png",
        image_sha256=key,
        width=width,
        height=height,
        bytes=10,
        bpp=0.1,
        metrics={"psnr-rgb": 30.0},
        complexity=complexity,
    )


def test_a_figure_round_trips_by_codec_quality_and_size(tmp_path):
    with Store(tmp_path / "r.sqlite") as store:
        store.put_complexity("codec-a", 3, 512, 768, FIGURE)
        store.put_complexity("codec-a", 3, 768, 512, {**FIGURE, "input": [768, 512]})
        store.put_complexity("codec-a", 8, 512, 768, {"other": "quality"})
        assert store.get_complexity("codec-a", 3.0, 512, 768) == FIGURE
        assert store.get_complexity("codec-a", 3, 768, 512)["input"] == [768, 512]
        # another size, quality or codec version (key) is not served
        assert store.get_complexity("codec-a", 3, 512, 512) is None
        assert store.get_complexity("codec-a", 4, 512, 768) is None
        assert store.get_complexity("codec-b", 3, 512, 768) is None
        assert store.complexity_sizes("codec-a", 3) == ((512, 768), (768, 512))
        assert store.complexity_sizes("codec-a", 8) == ((512, 768),)
        assert store.complexity_sizes("codec-b", 3) == ()
        store.put_complexity("codec-a", 3, 512, 768, {"replaced": True})  # one row per size
        assert store.get_complexity("codec-a", 3, 512, 768) == {"replaced": True}
    with Store(tmp_path / "r.sqlite", read_only=True) as again:  # and in another connection
        assert again.get_complexity("codec-a", 8, 512, 768) == {"other": "quality"}


def test_a_record_brings_its_figure_into_the_table_in_its_transaction(tmp_path):
    with Store(tmp_path / "r.sqlite") as store:
        store.put_many([record("a", FIGURE), record("b", None, 768, 512)])
        assert store.get_complexity("codec-a", 3, 512, 768) == FIGURE
        assert store.complexity_sizes("codec-a", 3) == ((512, 768),)  # b measured nothing
        # the figure is not a results column: a record read back has none
        assert store.get(["a"])["a"].complexity is None
        assert store.get(["a"])["a"].metrics == {"psnr-rgb": 30.0}


def older_store(path) -> None:
    """A store as a licbench before the complexity table wrote it (the same tables less one)."""
    with Store(path) as store:
        store.put(record("old", None))
    connection = sqlite3.connect(path)
    connection.execute("DROP TABLE complexity")
    connection.commit()
    connection.close()


def tables(path) -> set[str]:
    connection = sqlite3.connect(path)
    try:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    finally:
        connection.close()


def test_an_older_store_gains_the_table_when_opened_for_writing(tmp_path):
    path = tmp_path / "old.sqlite"
    older_store(path)
    assert "complexity" not in tables(path) and "results" in tables(path)
    with Store(path) as store:
        assert store.get(["old"])["old"].metrics == {"psnr-rgb": 30.0}  # its rows as they were
        assert store.get_complexity("codec-a", 3, 512, 768) is None
        store.put_complexity("codec-a", 3, 512, 768, FIGURE)
        assert store.get_complexity("codec-a", 3, 512, 768) == FIGURE
    assert "complexity" in tables(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files")
def test_a_read_only_older_store_reads_as_having_no_figures(tmp_path):
    path = tmp_path / "old.sqlite"
    older_store(path)
    path.chmod(stat.S_IRUSR)
    with Store(path) as store:
        assert store.read_only
        assert store.get(["old"])["old"].ok
        assert store.get_complexity("codec-a", 3, 512, 768) is None
        assert store.complexity_sizes("codec-a", 3) == ()
    assert "complexity" not in tables(path)


def test_a_store_opened_read_only_reads_an_older_one_without_the_table(tmp_path):
    # (read_only=True as licbench report opens it: also as root, nothing is added)
    path = tmp_path / "old.sqlite"
    older_store(path)
    with Store(path, read_only=True) as store:
        assert store.get_complexity("codec-a", 3, 512, 768) is None
        assert store.complexity_sizes("codec-a", 3) == ()
    assert "complexity" not in tables(path)


def test_a_newer_store_keeps_the_tables_an_older_licbench_requires(tmp_path):
    # an older licbench checks only that `results` is there with its columns: the extra
    # table is one it never reads
    path = tmp_path / "new.sqlite"
    with Store(path) as store:
        store.put_many([record("a", FIGURE)])
    connection = sqlite3.connect(path)
    columns = {row[1] for row in connection.execute("PRAGMA table_info(results)")}
    connection.close()
    assert {"job_key", "codec_key", "quality", "metrics", "error"} <= columns
    assert "complexity" not in columns
