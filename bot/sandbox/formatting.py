"""Formatted text as Telegram reads it: ``parse_mode`` markup to plain text and entities.

Text lengths are counted in UTF-16 code units after ``parse_mode`` markup has been removed and
surrounding whitespace trimmed, like Telegram does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import JSON, _bad

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024


def utf16_len(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units, as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


class _EntityError(Exception):
    pass


@dataclass
class _Open:
    kind: str
    start: int
    byte_offset: int
    tag: str = ""
    extra: JSON = field(default_factory=dict)
    merged: bool = False


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.offset = 0
        self.entities: list[JSON] = []

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.offset += utf16_len(chunk)

    def close(self, item: _Open) -> None:
        self.entity(item.kind, item.start, self.offset, item.extra)

    def entity(self, kind: str, start: int, end: int, extra: JSON | None = None) -> None:
        if end > start:
            self.entities.append(
                {"type": kind, "offset": start, "length": end - start, **(extra or {})}
            )

    def result(self) -> tuple[str, list[JSON]]:
        return "".join(self.parts), sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


_HTML_KINDS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITY_RE = re.compile(r"&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot);")
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ATTR_RE = re.compile(r"\s*([a-zA-Z_:-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")


def _html_unescape(value: str) -> str:
    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _HTML_NAMED:
            return _HTML_NAMED[name]
        code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
        return chr(code) if 0 < code <= 0x10FFFF else match.group(0)

    return _HTML_ENTITY_RE.sub(repl, value)


def _parse_html(text: str) -> tuple[str, list[JSON]]:
    out = _Builder()
    stack: list[_Open] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            match = _HTML_ENTITY_RE.match(text, i)
            if match:
                out.add(_html_unescape(match.group(0)))
                i = match.end()
            else:
                out.add("&")
                i += 1
            continue
        if char != "<":
            j = i
            while j < n and text[j] not in "<&":
                j += 1
            out.add(text[i:j])
            i = j
            continue
        offset = _byte_offset(text, i)
        if i + 1 < n and text[i + 1] == "/":
            end = text.find(">", i)
            if end < 0:
                raise _EntityError(f"Unclosed end tag at byte offset {offset}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise _EntityError(f"Unexpected end tag at byte offset {offset}")
            top = stack.pop()
            if name != top.tag:
                raise _EntityError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{top.tag}>", '
                    f'found "</{name}>"'
                )
            if not top.merged:
                out.close(top)
            i = end + 1
            continue
        j = i + 1
        while j < n and not text[j].isspace() and text[j] not in ">":
            j += 1
        if j >= n:
            raise _EntityError(f"Unclosed start tag at byte offset {offset}")
        name = text[i + 1 : j].lower()
        if name not in _HTML_KINDS:
            raise _EntityError(f'Unsupported start tag "{name}" at byte offset {offset}')
        attrs: dict[str, str] = {}
        while True:
            while j < n and text[j].isspace():
                j += 1
            if j < n and text[j] == ">":
                break
            match = _HTML_ATTR_RE.match(text, j)
            if j >= n or not match or match.end() == j:
                raise _EntityError(f"Unclosed start tag at byte offset {offset}")
            value = next((g for g in match.groups()[1:] if g is not None), "")
            attrs[match.group(1).lower()] = _html_unescape(value)
            j = match.end()
        item = _Open(_HTML_KINDS[name], out.offset, offset, tag=name)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise _EntityError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        if name == "a":
            item.extra["url"] = attrs.get("href", "")
            if not item.extra["url"]:
                item.merged = True
        elif name == "tg-emoji":
            item.extra["custom_emoji_id"] = attrs.get("emoji-id", "")
        elif name == "blockquote" and "expandable" in attrs:
            item.kind = "expandable_blockquote"
        elif name == "code" and stack and stack[-1].tag == "pre":
            # <pre><code class="language-x"> is one "pre" entity with a language.
            item.merged = True
            language = attrs.get("class", "")
            if language.startswith("language-"):
                stack[-1].extra["language"] = language.removeprefix("language-")
        stack.append(item)
        i = j + 1
    if stack:
        raise _EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    return out.result()


_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def _mdv2_ends(item: _Open, text: str, i: int) -> bool:
    char, nxt = text[i], text[i + 1 : i + 2]
    return {
        "bold": char == "*",
        "italic": char == "_" and nxt != "_",
        "underline": char == "_" and nxt == "_",
        "strikethrough": char == "~",
        "spoiler": char == "|" and nxt == "|",
        "text_link": char == "]",
        "custom_emoji": char == "]",
    }.get(item.kind, False)


def _is_language(chunk: str) -> bool:
    return bool(chunk.strip()) and not any(c in chunk for c in " `")


def _parse_markdown_v2(text: str) -> tuple[str, list[JSON]]:
    out = _Builder()
    stack: list[_Open] = []
    quote_start: int | None = None
    quote_end = 0
    line_start = True
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        in_code = bool(stack) and stack[-1].kind in ("code", "pre")
        if line_start and not in_code:
            line_start = False
            if char == ">":
                if quote_start is None:
                    quote_start = out.offset
                i += 1
                continue
            if quote_start is not None:
                out.entity("blockquote", quote_start, quote_end)
                quote_start = None
        if char == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.add(text[i + 1])
            i += 2
            continue
        if in_code:
            top = stack[-1]
            if top.kind == "code" and char == "`":
                out.close(stack.pop())
                i += 1
            elif top.kind == "pre" and text.startswith("```", i):
                out.close(stack.pop())
                i += 3
            else:
                out.add(char)
                i += 1
            continue
        if char not in _MDV2_RESERVED:
            if char == "\n":
                quote_end = out.offset
                line_start = True
            out.add(char)
            i += 1
            continue
        if stack and _mdv2_ends(stack[-1], text, i):
            top = stack.pop()
            i += 2 if top.kind in ("underline", "spoiler") else 1
            if top.kind in ("text_link", "custom_emoji"):
                url = ""
                if i < n and text[i] == "(":
                    j = i + 1
                    chars: list[str] = []
                    while j < n and text[j] != ")":
                        if text[j] == "\\" and j + 1 < n:
                            j += 1
                        chars.append(text[j])
                        j += 1
                    if j >= n:
                        raise _EntityError(
                            f"Can't find end of a url at byte offset {top.byte_offset}"
                        )
                    url = "".join(chars)
                    i = j + 1
                if top.kind == "custom_emoji":
                    top.extra["custom_emoji_id"] = url.partition("id=")[2]
                elif url:
                    top.extra["url"] = url
                else:
                    continue
            out.close(top)
            continue
        offset = _byte_offset(text, i)
        nxt = text[i + 1 : i + 2]
        if char == "_":
            kind = "underline" if nxt == "_" else "italic"
        elif char == "*":
            kind = "bold"
        elif char == "~":
            kind = "strikethrough"
        elif char == "|" and nxt == "|":
            kind = "spoiler"
        elif char == "[":
            kind = "text_link"
        elif char == "!" and nxt == "[":
            kind = "custom_emoji"
        elif char == "`":
            kind = "pre" if text.startswith("```", i) else "code"
        else:
            raise _EntityError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        item = _Open(kind, out.offset, offset)
        i += {"underline": 2, "spoiler": 2, "custom_emoji": 2, "pre": 3}.get(kind, 1)
        if kind == "pre":
            newline = text.find("\n", i)
            if newline >= 0 and _is_language(text[i:newline]):
                item.extra["language"] = text[i:newline]
                i = newline + 1
            item.start = out.offset
        stack.append(item)
    if stack:
        top = stack[-1]
        raise _EntityError(
            f"Can't find end of {_MDV2_NAMES[top.kind]} entity at byte offset {top.byte_offset}"
        )
    if quote_start is not None:
        out.entity("blockquote", quote_start, out.offset)
    return out.result()


def _parse_markdown(text: str) -> tuple[str, list[JSON]]:
    out = _Builder()
    kinds = {"*": "bold", "_": "italic", "`": "code", "[": "text_link"}
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if char not in kinds:
            out.add(char)
            i += 1
            continue
        begin = _byte_offset(text, i)
        start = out.offset
        is_pre = text.startswith("```", i)
        i += 3 if is_pre else 1
        extra: JSON = {}
        if is_pre:
            newline = text.find("\n", i)
            if newline >= 0 and _is_language(text[i:newline]):
                extra["language"] = text[i:newline]
                i = newline + 1
        end_char = "]" if char == "[" else char
        while i < n and not (text.startswith("```", i) if is_pre else text[i] == end_char):
            out.add(text[i])
            i += 1
        if i >= n:
            raise _EntityError(f"Can't find end of the entity starting at byte offset {begin}")
        i += 3 if is_pre else 1
        kind = "pre" if is_pre else kinds[char]
        if kind == "text_link":
            close = text.find(")", i) if text[i : i + 1] == "(" else -1
            if close < 0:
                continue
            extra["url"] = text[i + 1 : close]
            i = close + 1
        out.entity(kind, start, out.offset, extra)
    return out.result()


def format_text(text: str, parse_mode: str | None, entities: Any = None) -> tuple[str, list[JSON]]:
    """Apply ``parse_mode`` to ``text`` and trim it; return the plain text and its entities."""
    mode = (parse_mode or "").lower()
    try:
        if mode == "html":
            plain, found = _parse_html(text)
        elif mode == "markdownv2":
            plain, found = _parse_markdown_v2(text)
        elif mode == "markdown":
            plain, found = _parse_markdown(text)
        elif mode == "":
            plain, found = text, list(entities) if isinstance(entities, list) else []
        else:
            raise _bad("unsupported parse_mode")
    except _EntityError as exc:
        raise _bad(f"can't parse entities: {exc}") from None
    stripped = plain.strip()
    if stripped == plain:
        return plain, found
    shift = utf16_len(plain[: len(plain) - len(plain.lstrip())])
    total = utf16_len(stripped)
    trimmed: list[JSON] = []
    for entity in found:
        start = max(0, entity["offset"] - shift)
        end = min(total, entity["offset"] + entity["length"] - shift)
        if end > start:
            trimmed.append({**entity, "offset": start, "length": end - start})
    return stripped, trimmed
