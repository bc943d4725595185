"""Showing names that come from disk (camera folders, file names, CSV cells) on one line.

A folder may be called "cam\\n1" or carry terminal escape codes; printed raw it would split a
report line or recolour the terminal. `display_name` escapes what a terminal or a one-line label
would act on and keeps every other character (accents, CJK, emoji) as it is. The stored name is
never changed: this is for display only, and it is idempotent.
"""

from __future__ import annotations

import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Format characters that reorder or hide text (bidi overrides and isolates, marks) are escaped;
# other format characters (zero-width joiners inside emoji, soft hyphens) are kept.
_BIDI = {*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)), "\u200e", "\u200f", "\u061c"}


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a non-UTF-8 name, as os.fsdecode leaves it
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def needs_escape(ch: str) -> bool:
    """Control characters (C0, DEL, C1), line/paragraph separators, bidi controls, surrogates."""
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cs") or ch in _BIDI


def display_name(s: str) -> str:
    """`s` on one safe line: "cam\\n1" (a real newline) becomes the four characters c a m \\ n 1."""
    if s.isprintable():  # the common case, and fast: no control or separator character at all
        return s
    return "".join(_escape(ch) if needs_escape(ch) else ch for ch in s)


def plural(n: int, word: str) -> str:
    """ "1 crop", "2 crops", "1,234 crops"."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")
