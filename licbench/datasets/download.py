"""Getting bytes into the cache safely: stream to a ``.part`` file, hash, then rename.

Why this shape: a download or copy that is interrupted must never leave a file under its final
name (the next run would take it as present), and the bytes that are hashed must be the bytes
that land in the cache, so hashing happens while writing, in one pass. ``open_url`` is the only
function that touches the network; tests replace it to serve local bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

from licbench.core.files import atomic_writer
from licbench.datasets.base import DatasetError
from licbench.datasets.verify import sha256_mismatch

_CHUNK = 1 << 20
USER_AGENT = "licbench-datasets (+https://pypi.org/project/licbench/)"
TIMEOUT_S = 60.0


class DownloadError(DatasetError):
    """The network could not deliver a file (no route, HTTP error, timeout)."""


class SizeLimitError(DatasetError):
    """A stream held more bytes than it may (:func:`store_stream`'s ``max_bytes``); nothing of
    it was kept. ``limit`` is the bound that was reached."""

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


def open_url(url: str, *, timeout: float = TIMEOUT_S) -> BinaryIO:
    """Open ``url`` for reading. The single network entry point (tests monkeypatch it)."""
    import urllib.request  # (here: urllib, http and ssl only when something is downloaded)

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    return urllib.request.urlopen(request, timeout=timeout)


def store_stream(
    stream: BinaryIO,
    dest: Path,
    *,
    sha256: str | None = None,
    size: int | None = None,
    label: str | None = None,
    progress: bool = False,
    total: int | None = None,
    max_bytes: int | None = None,
) -> str:
    """Write ``stream`` to ``dest`` atomically and return the sha256 of what was written.

    The bytes go to a uniquely named ``.part`` file beside ``dest`` (two processes fetching the
    same set do not clobber each other) and are renamed into place only after the size and sum
    match; on any failure the ``.part`` file is removed and ``dest`` is untouched.

    ``max_bytes`` bounds what is written, counted as it streams (whatever a header or a server
    said): the chunk that would pass it is never written, :class:`SizeLimitError` is raised.
    """
    label = label or dest.name
    digest = hashlib.sha256()
    written = 0
    bar = _progress_bar(label, total or size) if progress else None
    try:
        with atomic_writer(dest) as out:  # raising inside keeps the bytes from ``dest``
            for chunk in iter(lambda: stream.read(_CHUNK), b""):
                if max_bytes is not None and written + len(chunk) > max_bytes:
                    raise SizeLimitError(
                        f"{label}: more than {max_bytes} bytes, the most it may hold; "
                        "stopped there and nothing of it kept",
                        max_bytes,
                    )
                out.write(chunk)
                digest.update(chunk)
                written += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
            actual = digest.hexdigest()
            if size is not None and written != size:
                raise DatasetError(
                    f"{label}: expected {size} bytes, got {written} (truncated or a different "
                    "file); it was not used"
                )
            if sha256 is not None and actual != sha256.lower():
                raise sha256_mismatch(label, sha256, actual)
        return actual
    finally:
        if bar is not None:
            bar.close()


def download_file(
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    size: int | None = None,
    label: str | None = None,
    progress: bool = True,
    max_bytes: int | None = None,
) -> str:
    """Download ``url`` to ``dest`` (``.part`` then rename), verify, return the sha256.

    ``max_bytes`` (for a file whose size the manifest does not know) stops a download that
    goes on past it, before those bytes are written (:class:`SizeLimitError`).

    Network failures raise :class:`DownloadError` (the caller may still have other places to
    look); a wrong size or sum raises a plain :class:`DatasetError`, which is never retried
    around: a server handing out different bytes is something the user must hear about.
    """
    import http.client
    import urllib.error

    label = label or dest.name
    try:
        response = open_url(url)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DownloadError(f"{label}: cannot download {url}: {exc}") from exc
    try:
        headers = getattr(response, "headers", None)
        length = headers.get("Content-Length") if headers is not None else None
        total = int(length) if length and length.isdigit() else None
        if max_bytes is not None and total is not None and total > max_bytes:
            raise SizeLimitError(
                f"{label}: the server says {total} bytes, more than the {max_bytes} it may "
                "hold; not downloaded",
                max_bytes,
            )
        try:
            return store_stream(
                response,
                dest,
                sha256=sha256,
                size=size,
                label=label,
                progress=progress,
                total=total,
                max_bytes=max_bytes,
            )
        except (
            urllib.error.URLError,
            http.client.HTTPException,
            TimeoutError,
            ConnectionError,
        ) as exc:
            raise DownloadError(f"{label}: download of {url} failed: {exc}") from exc
    finally:
        response.close()


def copy_file(src: Path, dest: Path, *, sha256: str | None = None, label: str | None = None) -> str:
    """Copy ``src`` into the cache at ``dest`` atomically, verifying the copied bytes."""
    with open(src, "rb") as stream:
        return store_stream(stream, dest, sha256=sha256, label=label or str(src))


def _progress_bar(label: str, total: int | None):
    """A tqdm bar when tqdm is installed; progress is a nicety, never a reason to fail."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, leave=False)
