"""Hostile text: what a model, a server or a shared file could put where glm-tui shows words.

Each entry is something a terminal would obey rather than print (C0/C1 controls, OSC 8/52/0/2,
CSI, DCS, the bracketed-paste end), something that reorders or hides text (bidi overrides, ZWJ,
combining marks), something Textual would parse as markup, or something merely huge. Tests put
them in tool names, titles, model ids and server words and check what reaches the screen.
"""

from __future__ import annotations

import re

ESC = "\x1b"
ST = ESC + "\\"

HOSTILE: dict[str, str] = {
    "nul": "a\x00b",
    "bell": "ding\x07",
    "backspace": "abc\x08\x08\x08xyz",
    "carriage return": "safe\roverwritten",
    "vertical tab and form feed": "a\x0bb\x0cc",
    "delete": "del\x7f",
    "bare esc": "esc\x1b",
    "osc 52 clipboard (bel)": ESC + "]52;c;SGVsbG8gZnJvbSB0aGUgbW9kZWw=\x07",
    "osc 52 clipboard (st)": ESC + "]52;c;cm0gLXJmIH4=" + ST,
    "osc 0 title": ESC + "]0;pwned\x07",
    "osc 2 title": ESC + "]2;pwned" + ST,
    "osc 8 hyperlink": ESC + "]8;;https://evil.example/" + ST + "click me" + ESC + "]8;;" + ST,
    "csi clear screen": ESC + "[2J" + ESC + "[H",
    "csi colour": ESC + "[31mred" + ESC + "[0m",
    "csi alternate screen": ESC + "[?1049h",
    "csi cursor report": ESC + "[6n",
    "csi mouse tracking": ESC + "[?1000h",
    "dcs": ESC + "P1$qm" + ST,
    "sos pm apc": ESC + "X sos " + ST + ESC + "^ pm " + ST + ESC + "_ apc " + ST,
    "ris reset": ESC + "c",
    "save restore cursor": ESC + "7moved" + ESC + "8",
    "bracketed paste end": ESC + "[201~rm -rf ~\n",
    "c1 csi": "\x9b2J",
    "c1 osc": "\x9d0;pwned\x9c",
    "c1 dcs": "\x90q\x9c",
    "c1 nel": "a\x85b",
    "rtl override": "\u202etxt.exe",
    "bidi isolates": "\u2066abc\u2069\u2067def\u2069\u2068x\u2069",
    "zwj emoji": "👩\u200d💻👨\u200d👩\u200d👧",
    "combining marks": "e\u0301\u0301\u0301\u0301" + "Z\u0337\u0322\u031b\u0353",
    "zero width": "a\u200bb\u200cc\u2060d\ufeffe",
    "line separators": "one\u2028two\u2029three",
    "soft hyphen": "in\u00advisible",
    "markup close": "[/]",
    "markup click": "[@click=app.quit]x[/]",
    "markup colour": "[red]red[/red]",
    "markup bold unclosed": "[b]bold",
    "markup link": "[link=https://evil.example]x[/link]",
    "markup escape": "\\[not markup] ][",
    "css variable": "$text-error $accent",
    "rich emoji code": ":warning: :skull:",
    "newlines": "first\nsecond\r\nthird",
    "tabs": "a\tb\t\tc",
    "long line 1 MB": "A" * 1_000_000,
    "everything at once": (ESC + "]52;c;eA==\x07[@click=app.quit]\u202e\x9b" + ESC + "[201~"),
}
"""Name -> hostile text. All of it can be stored in SQLite (no lone surrogates)."""

# What the screen may show: printable text, newlines between rows. Everything else a terminal
# would act on (C0 but newline, DEL, C1) or that reorders text (explicit bidi controls).
FORBIDDEN_ON_SCREEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def forbidden_characters(drawn: str) -> list[str]:
    """The characters in ``drawn`` that must never reach a terminal, as repr strings."""
    return sorted({repr(c) for c in FORBIDDEN_ON_SCREEN.findall(drawn)})
