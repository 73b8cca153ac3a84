"""Pure rules for message text: Telegram's length limit."""

from __future__ import annotations

TELEGRAM_TEXT_LIMIT = 4096
# What an organizer may type for a notice: a round figure that leaves room for the header the
# officers see above it (a club's name, 📣 工会通知), so the limit never reads "4087 字".
NOTICE_TEXT_LIMIT = 4000


def split_text(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Split text into chunks Telegram accepts, preferring line breaks, never losing a character.

    Telegram counts UTF-16 code units, so a character outside the BMP (most emoji) counts twice.
    """
    if limit < 2:
        raise ValueError("limit must allow at least one character")
    chunks: list[str] = []
    rest = text
    while _units(rest) > limit:
        cut = _prefix_fitting(rest, limit)
        newline = rest.rfind("\n", 0, cut)
        if newline > 0:
            cut = newline + 1
        chunks.append(rest[:cut])
        rest = rest[cut:]
    if rest or not chunks:
        chunks.append(rest)
    return chunks


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _prefix_fitting(text: str, limit: int) -> int:
    """The longest prefix length (in characters) whose UTF-16 size fits the limit."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)
