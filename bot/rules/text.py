"""Pure rules for typed text: what is worth storing, and how bad input is quoted back.

Every free text the bot keeps (a title, place, hospital, ward, reason, name, note, notice) goes
through `clean` and must be `meaningful`: text made only of blanks, zero-width characters, byte
order marks or direction controls looks empty on every screen, and direction overrides (RLO …)
make the text around them read backwards, so they are dropped wherever they stand.
"""

from __future__ import annotations

import unicodedata

QUOTE_LIMIT = 50
ELLIPSIS = "…"

# Bidirectional embeddings, overrides and isolates: LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI.
DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Letters and symbols by category that every font draws as blank space: Hangul fillers, the
# blank Braille pattern.
BLANK_LOOKALIKES = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Line breaks and tabs are the only control characters a typed text keeps.
KEPT_CONTROLS = frozenset("\n\t")
# Categories that never show anything at the edge of a text: controls, formats (zero-width
# space and joiners, BOM, direction marks, tags), separators.
_BLANK_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
# A text means something when it holds a letter, a digit, a punctuation mark or a symbol.
_VISIBLE_CLASSES = frozenset("LNPS")


def _dropped(char: str) -> bool:
    """Characters removed wherever they stand."""
    if char in DIRECTION_CONTROLS:
        return True
    return unicodedata.category(char) == "Cc" and char not in KEPT_CONTROLS


def _blank(char: str) -> bool:
    """Characters that show nothing (trimmed from both ends of a text)."""
    return (
        char.isspace()
        or unicodedata.category(char) in _BLANK_CATEGORIES
        or char in BLANK_LOOKALIKES
    )


def clean(text: str) -> str:
    """The text without direction overrides or control characters (line breaks and tabs stay),
    and without blank or invisible characters at either end.

    Zero-width joiners inside the text stay: emoji such as 👨‍👩‍👧 are made with them.
    """
    kept = "".join(char for char in text if not _dropped(char))
    start, end = 0, len(kept)
    while start < end and _blank(kept[start]):
        start += 1
    while end > start and _blank(kept[end - 1]):
        end -= 1
    return kept[start:end]


def visible(char: str) -> bool:
    """True for a character that shows as something: a letter, digit, punctuation or symbol."""
    return unicodedata.category(char)[0] in _VISIBLE_CLASSES and char not in BLANK_LOOKALIKES


def meaningful(text: str) -> bool:
    """True if the text shows at least one character (not only blanks and invisible ones)."""
    return any(visible(char) for char in text)


def quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """Typed input as an error reply may repeat it: at most `limit` characters, then '…'.

    Direction controls and control characters are dropped first, so a quoted input cannot turn
    the bot's own sentence around it backwards or break it over lines.
    """
    shown = "".join(" " if char in KEPT_CONTROLS else char for char in text if not _dropped(char))
    return shown if len(shown) <= limit else shown[:limit] + ELLIPSIS
