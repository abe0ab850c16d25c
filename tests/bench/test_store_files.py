"""A store that is not one: one line naming the file and what to do, exit 2, nothing written.

A folder, a file that is not SQLite, another application's database, a licbench-looking table
with other columns, a corrupt file; a read-only store (a finished run re-runs from it, a run
with work to do is refused); ``licbench report --store`` with no store there; a full disk.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from licbench.bench import store as store_module
from licbench.bench.store import Store, StoreError
from licbench.cli import main

from .test_store import make_record


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(folder / name)
    return folder


def _run(tmp_path: Path, store: Path, *extra: str) -> int:
    return main(
        [
            "run",
            "--dataset",
            f"folder:{_folder(tmp_path)}",
            "--codecs",
            "jpeg",
            "--qualities",
            "50",
            "--metrics",
            "psnr-rgb",
            "--workers",
            "1",
            "--no-progress",
            "--out",
            str(tmp_path / "out"),
            "--store",
            str(store),
            *extra,
        ]
    )


def _other_app(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
        connection.execute("INSERT INTO users (email) VALUES ('a@example.com')")


def _foreign_results(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE results (id INTEGER PRIMARY KEY, score REAL)")


def _corrupt(path: Path) -> None:
    with Store(path) as store:
        for index in range(200):
            store.put(make_record(f"key-{index}"))
    data = bytearray(path.read_bytes())
    data[4096 : 4096 + 8] = b"\xa5" * 8  # the header of the second page: not a b-tree page
    path.write_bytes(bytes(data))


BAD_STORES = {
    "text": (lambda p: p.write_text("id,score\n1,2\n"), "not a SQLite file"),
    "short": (lambda p: p.write_bytes(b"SQLite"), "not a SQLite file"),
    "other-app": (_other_app, "a SQLite database of another application (tables: users)"),
    "foreign-results": (_foreign_results, "its 'results' table is not licbench's"),
    "corrupt": (_corrupt, "corrupt"),
}


@pytest.mark.parametrize("kind", sorted(BAD_STORES))
def test_a_file_that_is_not_a_usable_store_is_refused_untouched(tmp_path, capsys, kind):
    make, expected = BAD_STORES[kind]
    path = tmp_path / "store.sqlite"
    make(path)
    before = _digest(path)
    (tmp_path / "out").mkdir()

    assert _run(tmp_path, path) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"licbench run: {path}: ") and expected in err
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images", "out", "store.sqlite"]
    assert list((tmp_path / "out").iterdir()) == []  # nothing written for the run either


def test_a_folder_as_store_is_refused(tmp_path, capsys):
    assert _run(tmp_path, tmp_path) == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"licbench run: {tmp_path}: is a folder; --store takes a file (e.g. results.sqlite)\n"
    )


def test_an_empty_file_is_a_new_store(tmp_path):
    path = tmp_path / "store.sqlite"
    path.touch()
    assert _run(tmp_path, path) == 0
    with Store(path) as store:
        assert store.count() == 2


def test_a_finished_run_reruns_from_a_read_only_store(tmp_path, capsys, monkeypatch):
    path = tmp_path / "store.sqlite"
    assert _run(tmp_path, path) == 0
    with Store(path) as store:  # close cleanly: no -wal left, as a store copied elsewhere
        store.integrity_ok()
    capsys.readouterr()
    before = _digest(path)
    # root may write any file, so "read-only or immutable" is what the store is told
    monkeypatch.setattr(store_module, "_writable", lambda p: Path(p) != path)

    assert _run(tmp_path, path) == 0
    out = capsys.readouterr().out
    assert "2 jobs: 2 from the store, 0 computed, 0 failed" in out
    assert _digest(path) == before

    assert _run(tmp_path, path, "--qualities", "60") == 2  # work to do: refused up front
    err = capsys.readouterr().err
    assert err == (
        f"licbench run: {path}: the store is read-only (the file is read-only or immutable) and "
        "2 of the run's jobs need computing; make it writable or give another --store\n"
    )
    assert _digest(path) == before


def test_a_read_only_store_cannot_be_written(tmp_path, monkeypatch):
    path = tmp_path / "store.sqlite"
    with Store(path) as store:
        store.put(make_record("a"))
    monkeypatch.setattr(store_module, "_writable", lambda p: False)
    with Store(path) as store:
        assert store.read_only and store.get(["a"])["a"].codec == "jpeg"
        with pytest.raises(StoreError, match="read-only .* and a result needs storing"):
            store.put(make_record("b"))
    with pytest.raises(StoreError, match="cannot create a store there"):
        Store(tmp_path / "new.sqlite")


def test_report_with_a_store_that_does_not_exist_writes_nothing(tmp_path, capsys):
    assert _run(tmp_path, tmp_path / "store.sqlite") == 0
    out = tmp_path / "out"
    before = {p.name: _digest(p) for p in out.rglob("*") if p.is_file()}  # viewer/ too
    missing = tmp_path / "nowhere.sqlite"
    capsys.readouterr()

    assert main(["report", str(out), "--store", str(missing)]) == 2

    err = capsys.readouterr().err
    assert err.startswith(f"licbench report: {missing}: no result store there")
    assert err.count("\n") == 1
    assert not missing.exists()
    assert {p.name: _digest(p) for p in out.rglob("*") if p.is_file()} == before
    assert main(["report", str(out)]) == 0  # the recorded store still works


def test_a_full_disk_while_storing_is_one_error_and_keeps_the_rows(tmp_path):
    path = tmp_path / "store.sqlite"
    with Store(path) as store:
        store.put(make_record("kept"))
        pages = store._connection.execute("PRAGMA page_count").fetchone()[0]
        store._connection.execute(f"PRAGMA max_page_count = {pages}")  # the disk is now full
        big = make_record("big")
        big.error = "x" * 100_000
        with pytest.raises(StoreError, match="disk full while storing a result"):
            store.put(big)
    with Store(path) as store:
        assert set(store.get(["kept", "big"])) == {"kept"} and store.integrity_ok()
