"""Downloads with the network mocked: ``open_url`` serves bytes from a local folder."""

from __future__ import annotations

import hashlib
import io
import urllib.error
import zipfile
from pathlib import Path

import pytest

from licbench.datasets import DatasetError, ManifestDataset, download, fetch, load_dataset


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FakeServer:
    """Maps URLs to local files; records what was asked for."""

    def __init__(self, routes: dict[str, Path]):
        self.routes = routes
        self.requested: list[str] = []

    def __call__(self, url: str, *, timeout: float = 0):
        self.requested.append(url)
        if url not in self.routes:
            raise urllib.error.HTTPError(url, 404, "Not Found", None, None)  # type: ignore[arg-type]
        return io.BytesIO(self.routes[url].read_bytes())


def test_kodak_download_verifies_and_fills_the_cache(shared_mirror, tmp_path, monkeypatch):
    base = "http://r0k.us/graphics/kodak/kodak/"
    server = FakeServer(
        {
            f"{base}kodim{i:02d}.png": shared_mirror / "kodak" / f"kodim{i:02d}.png"
            for i in range(1, 25)
        }
    )
    monkeypatch.setattr(download, "open_url", server)
    refs = fetch("kodak", progress=False)
    assert len(refs) == 24 and len(server.requested) == 24
    cache = tmp_path / "cache" / "kodak"
    assert all(r.path.parent == cache and r.sha256 == _sha(r.path.read_bytes()) for r in refs)
    assert sorted(p.name for p in cache.iterdir()) == [r.name for r in refs]  # no .part left
    # cached now: no further requests
    load_dataset("kodak").images(download=True)
    assert len(server.requested) == 24


NAMED = """
name = "tiny"
description = "two named files"
license = "test"
verification = "sha256"
verification_note = "sha256 of each"
count = 2
[[files]]
name = "a.png"
url = "https://files.invalid/a.png"
sha256 = "{sha_a}"
[[files]]
name = "b.png"
url = "https://files.invalid/b.png"
sha256 = "{sha_b}"
"""


def _named_set(tmp_path: Path, png) -> tuple[ManifestDataset, dict[str, Path]]:
    a = png(tmp_path / "srv" / "a.png", seed=1)
    b = png(tmp_path / "srv" / "b.png", seed=2)
    body = NAMED.format(sha_a=_sha(a.read_bytes()), sha_b=_sha(b.read_bytes()))
    (tmp_path / "tiny.toml").write_text(body)
    routes = {"https://files.invalid/a.png": a, "https://files.invalid/b.png": b}
    return ManifestDataset(tmp_path / "tiny.toml"), routes


def test_mocked_download_works(tmp_path, png, monkeypatch):
    dataset, routes = _named_set(tmp_path, png)
    monkeypatch.setattr(download, "open_url", FakeServer(routes))
    refs = dataset.images()
    assert [r.name for r in refs] == ["a.png", "b.png"]
    assert refs[0].path.read_bytes() == routes["https://files.invalid/a.png"].read_bytes()


def test_download_with_wrong_bytes_is_rejected_and_leaves_nothing(tmp_path, png, monkeypatch):
    dataset, routes = _named_set(tmp_path, png)
    evil = png(tmp_path / "srv" / "evil.png", seed=666)
    routes["https://files.invalid/b.png"] = evil
    monkeypatch.setattr(download, "open_url", FakeServer(routes))
    with pytest.raises(DatasetError, match=r"tiny/b\.png from https://files\.invalid/b\.png") as e:
        dataset.images()
    assert _sha(evil.read_bytes()) in str(e.value)  # actual
    cache = tmp_path / "cache" / "tiny"
    assert sorted(p.name for p in cache.iterdir()) == ["a.png"]  # no b.png, no .part


def test_network_failure_stops_early_and_explains(tmp_path, png, monkeypatch):
    dataset, _ = _named_set(tmp_path, png)
    server = FakeServer({})
    monkeypatch.setattr(download, "open_url", server)
    with pytest.raises(DatasetError, match="2 of 2 files missing") as info:
        dataset.images()
    assert len(server.requested) == 1  # no point waiting out a timeout per file
    assert "HTTP Error 404" in str(info.value)


def test_download_false_never_touches_the_network(tmp_path, png, monkeypatch):
    dataset, routes = _named_set(tmp_path, png)
    server = FakeServer(routes)
    monkeypatch.setattr(download, "open_url", server)
    with pytest.raises(DatasetError, match="not tried"):
        dataset.images(download=False)
    assert server.requested == []


# -- archives -----------------------------------------------------------------------------------

ARCHIVED = """
name = "zipped"
description = "an archive of three PNG"
license = "test"
verification = "count+dimensions"
verification_note = "archive sha256; count 3; 32x24"
count = 3
[dimensions]
sizes = ["32x24"]
[archive]
url = "https://files.invalid/set.zip"
sha256 = "{sha}"
size = {size}
member_prefix = "valid/"
member_pattern = "*.png"
exclude = ["__MACOSX/*"]
"""


def _zip_set(tmp_path: Path, png, extra: dict[str, bytes] | None = None) -> Path:
    zpath = tmp_path / "srv" / "set.zip"
    zpath.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zpath, "w") as zf:
        for i in range(3):
            zf.write(png(tmp_path / "src" / f"p{i}.png", seed=i), f"valid/p{i}.png")
        zf.writestr("__MACOSX/valid/._p0.png", b"resource fork")
        zf.writestr("README.txt", b"not an image")
        zf.writestr("other/big.png", b"not taken")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return zpath


def test_archive_download_is_verified_and_extracted(tmp_path, png, monkeypatch):
    zpath = _zip_set(tmp_path, png)
    data = zpath.read_bytes()
    (tmp_path / "zipped.toml").write_text(ARCHIVED.format(sha=_sha(data), size=len(data)))
    monkeypatch.setattr(download, "open_url", FakeServer({"https://files.invalid/set.zip": zpath}))
    refs = ManifestDataset(tmp_path / "zipped.toml").images()
    assert [r.name for r in refs] == ["p0.png", "p1.png", "p2.png"]
    cache = tmp_path / "cache" / "zipped"
    # the archive and its staging folder are gone; only the selected members remain
    assert sorted(p.name for p in cache.iterdir()) == ["p0.png", "p1.png", "p2.png"]


def test_archive_with_wrong_sum_is_rejected(tmp_path, png, monkeypatch):
    zpath = _zip_set(tmp_path, png)
    data = zpath.read_bytes()
    body = ARCHIVED.format(sha="0" * 64, size=len(data))
    (tmp_path / "zipped.toml").write_text(body)
    monkeypatch.setattr(download, "open_url", FakeServer({"https://files.invalid/set.zip": zpath}))
    with pytest.raises(DatasetError, match="zipped archive from .*sha256 mismatch"):
        ManifestDataset(tmp_path / "zipped.toml").images()
    assert not any((tmp_path / "cache" / "zipped").rglob("*.png"))


def test_unsafe_archive_is_refused(tmp_path, png, monkeypatch):
    zpath = _zip_set(tmp_path, png, extra={"valid/../../escape.png": b"x"})
    data = zpath.read_bytes()
    (tmp_path / "zipped.toml").write_text(ARCHIVED.format(sha=_sha(data), size=len(data)))
    monkeypatch.setattr(download, "open_url", FakeServer({"https://files.invalid/set.zip": zpath}))
    with pytest.raises(DatasetError, match="unsafe"):
        ManifestDataset(tmp_path / "zipped.toml").images()
    assert not (tmp_path / "escape.png").exists()
    assert not any((tmp_path / "cache").rglob("*.png"))
