"""File names as text every output can hold (SQLite, CSV, JSON, HTML, a terminal).

On POSIX a file name is bytes; Python decodes the ones that are not UTF-8 with
``surrogateescape``, and such a string cannot be encoded as UTF-8: one file called
``caf\\xe9.png`` (Latin-1) would crash the store write and every output. :func:`printable`
turns the undecodable bytes into visible ``\\xe9`` escapes, so the name stays recognisable and
distinct, while the path used to read the file keeps its real bytes.
"""

from __future__ import annotations


def printable(text: str) -> str:
    """``text`` with undecodable bytes (lone surrogates) written as backslash escapes."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:  # surrogates from surrogateescape: back to the original bytes, escaped
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # other lone surrogates
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


__all__ = ["printable"]
