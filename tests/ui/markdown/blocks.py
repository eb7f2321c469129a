"""Test helpers: feed the block scanner at given split points and compare with one parse.

``scan`` drives ``BlockScanner`` the way ``StreamingMarkdown`` does (feed, freeze, and at the end
read the live tail) and returns the pieces the widget would draw. ``blocks_of_whole`` and
``blocks_of_pieces`` turn markdown-it's token stream (the parser the renderer uses) into
comparable top-level blocks, so a test can assert that drawing the pieces one by one shows the
same blocks as parsing the whole reply at once.

Comparison is structural: block and inline token types, heading levels, table alignment, link
targets, code (byte for byte, bar the final newline: a code block holding one empty line
draws as an empty block), and the text with whitespace removed (so a paragraph cut at a space
compares equal, while a cut inside ``[link](url)`` shows up as literal brackets).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from markdown_it.token import Token

from glm_tui.ui.markdown.render import _parser
from glm_tui.ui.markdown.scanner import BlockScanner, FrozenCode, FrozenProse, LiveProse

Event = tuple[object, ...]
Block = tuple[str, tuple[Event, ...]]


@dataclass(frozen=True)
class Piece:
    """One widget's worth of the reply, as the widget would draw it."""

    kind: str  # "prose" or "code"
    source: str  # prose: Markdown source; code: the code itself
    joins: str = ""  # prose: what continues after it ("", "list", "paragraph")
    fence: int = 0
    language: str = ""
    last: bool = True


@dataclass(frozen=True)
class Scan:
    """What feeding a text produced."""

    pieces: list[Piece]
    sources: list[str]  # raw text each frozen piece covers, then the unfrozen tail


def scan(text: str, cuts: Iterable[int]) -> Scan:
    """Feed ``text`` split at ``cuts`` (sorted offsets), then take the final live tail."""
    scanner = BlockScanner()
    pieces: list[Piece] = []
    sources: list[str] = []
    previous = 0
    for cut in [*cuts, len(text)]:
        for frozen in scanner.feed(text[previous:cut]):
            sources.append(frozen.source)
            if isinstance(frozen, FrozenProse):
                pieces.append(Piece("prose", frozen.source, frozen.joins))
            else:
                assert isinstance(frozen, FrozenCode)
                pieces.append(
                    Piece("code", frozen.code, fence=frozen.fence, language=frozen.language,
                          last=frozen.last)
                )
        previous = cut
    sources.append(scanner.open_source)
    live = scanner.live()
    if isinstance(live, LiveProse):
        pieces.append(Piece("prose", live.source[: live.settled]))
        pieces.append(Piece("prose", live.source[live.settled :]))
    else:
        pieces.append(Piece("code", live.code, fence=live.fence, language=live.language))
    return Scan(pieces, sources)


# ------------------------------------------------------------------------------ blocks


def _inline_events(children: Sequence[Token] | None) -> list[Event]:
    """Inline tokens -> events; text without whitespace, merged across tokens."""
    events: list[Event] = []
    for token in children or ():
        if token.type in ("text", "softbreak", "hardbreak"):
            text = "".join(token.content.split())
            if not text:
                continue
            if events and events[-1][0] == "text":
                events[-1] = ("text", str(events[-1][1]) + text)
            else:
                events.append(("text", text))
        elif token.type == "code_inline":
            events.append(("code", token.content))
        elif token.type in ("link_open", "image"):
            events.append((token.type, token.attrGet("href") or token.attrGet("src")))
            if token.type == "image":
                events.extend(_inline_events(token.children))
        else:
            events.append((token.type,))
    return events


def _event(token: Token) -> Event:
    if token.type == "inline":
        return ("inline", tuple(_inline_events(token.children)))
    if token.type == "fence":
        language = token.info.strip().split(" ")[0] if token.info.strip() else ""
        return ("fence", language, token.content.removesuffix("\n"))
    if token.type == "code_block":
        return ("code_block", token.content)
    attrs = tuple(sorted((str(k), str(v)) for k, v in token.attrs.items()))
    return (token.type, token.tag, attrs)


@lru_cache(maxsize=4096)
def _blocks(source: str) -> tuple[Block, ...]:
    """Top-level blocks of ``source``: (kind, events of every token in the block)."""
    blocks: list[Block] = []
    current: list[Event] = []
    kind = ""
    for token in _parser().parse(source):
        if token.level == 0 and token.nesting >= 0:
            kind = token.type.removesuffix("_open")
            current = []
        current.append(_event(token))
        if token.level == 0 and token.nesting <= 0:
            blocks.append((kind, tuple(current)))
    return tuple(blocks)


def blocks_of_whole(text: str) -> list[Block]:
    """The reply parsed at once."""
    return list(_blocks(text))


def _merge(first: Block, second: Block, joins: str) -> Block:
    """Two halves of one block that the scanner cut (a long list or paragraph)."""
    assert first[0] == second[0], f"a {joins} join between {first[0]} and {second[0]}"
    if joins == "paragraph":
        left, right = first[1][1][1], second[1][1][1]
        assert isinstance(left, tuple) and isinstance(right, tuple)
        inline: Event = ("inline", _join_events(left, right))
        return (first[0], (first[1][0], inline, first[1][2]))
    # A list: keep the first list's opening token, drop the second's.
    return (first[0], first[1][:-1] + second[1][1:])


def _join_events(left: tuple[Event, ...], right: tuple[Event, ...]) -> tuple[Event, ...]:
    if left and right and left[-1][0] == "text" and right[0][0] == "text":
        return (*left[:-1], ("text", str(left[-1][1]) + str(right[0][1])), *right[1:])
    return (*left, *right)


def blocks_of_pieces(pieces: Sequence[Piece]) -> list[Block]:
    """What the widget draws: each prose piece parsed alone, code chunks of a fence joined."""
    blocks: list[Block] = []
    joins = ""
    code: list[str] = []
    for piece in pieces:
        if piece.kind == "code":
            if piece.source or not code:
                code.append(piece.source)  # an empty later chunk draws no line
            if piece.last:
                blocks.append(("fence", (("fence", piece.language, "\n".join(code)),)))
                code = []
            continue
        parsed = list(_blocks(piece.source))
        if not parsed:
            continue  # an empty piece draws nothing and does not end a join
        if joins and blocks:
            blocks[-1] = _merge(blocks[-1], parsed.pop(0), joins)
        blocks.extend(parsed)
        joins = piece.joins
    return blocks
