"""Text from users (codec labels, image names) made safe for a terminal and for XML.

A codec label or file name may hold control characters: echoed raw they can rewrite a
terminal's screen (ANSI escapes), and XML 1.0 cannot hold most of them at all, even escaped, so
one such name would make the CI gate's JUnit file unreadable. Both functions keep every
printable character and show the others as ``\\xNN`` / ``\\uNNNN`` escapes, so names stay
distinct and recognisable.
"""

from __future__ import annotations

import re

# C0 and C1 controls and DEL; tab and newline are not kept either (a label is one line)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# what XML 1.0 cannot hold, also as a character reference (plus lone surrogates, U+FFFE/FFFF)
_NOT_XML = re.compile(r"[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """``text`` with control characters shown as escapes (nothing a terminal acts on)."""
    return _CONTROL.sub(_escape, str(text))


def xml_safe(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot hold shown as escapes."""
    return _NOT_XML.sub(_escape, str(text))


def one_line(text: str) -> str:
    """A message as one terminal-safe line: its lines joined with "; ", controls escaped."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return terminal_safe("; ".join(lines))


__all__ = ["one_line", "terminal_safe", "xml_safe"]
