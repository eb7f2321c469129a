"""sanitize_for_display: nothing terminal-active survives, real text is untouched."""

from __future__ import annotations

from glm_tui.model.text import sanitize_for_display


def test_escape_sequences_become_visible() -> None:
    shown = sanitize_for_display("a\x1b[31mred\x1b[0m\x07\x00\x7f\x9b2J")
    assert "\x1b" not in shown and "\x07" not in shown and "\x00" not in shown
    assert "\x7f" not in shown and "\x9b" not in shown
    assert shown == "a\u241b[31mred\u241b[0m\u2407\u2400\u2421\u27e89B\u27e92J"


def test_newline_and_tab_kept_crlf_normalised_lone_cr_visible() -> None:
    assert sanitize_for_display("a\tb\r\nc\rd\n") == "a\tb\nc\u240dd\n"


def test_every_c0_c1_control_is_replaced() -> None:
    controls = "".join(chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)])
    shown = sanitize_for_display(controls)
    assert set(shown) & set(controls) <= {"\n", "\t"}


def test_cjk_emoji_zwj_and_rtl_text_unchanged() -> None:
    text = "中文 日本語 한국어 👩‍👩‍👧‍👦 🏳️‍🌈 👍🏽 שלום مرحبا e\u0301 \u200f"
    assert sanitize_for_display(text) == text


def test_bidi_overrides_are_neutralised_visibly() -> None:
    shown = sanitize_for_display("admin\u202e\u2066txt.exe\u2069\u202c")
    for control in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
        assert control not in shown
    assert shown == "admin⟨RLO⟩⟨LRI⟩txt.exe⟨PDI⟩⟨PDF⟩"


def test_line_separators_and_lone_surrogates() -> None:
    assert sanitize_for_display("a\u2028b\u2029c") == "a\nb\nc"
    shown = sanitize_for_display("x\ud800y")
    shown.encode("utf-8")  # would raise if a surrogate survived
    assert shown == "x\ufffdy"


def test_markup_like_text_is_left_as_text() -> None:
    text = "[bold]x[/] [@click=app.quit]q[/]"
    assert sanitize_for_display(text) == text


def test_a_100_kb_single_line_is_sanitized_to_its_last_character() -> None:
    text = ("abc\x1b" * 25_000) + "\x9b"
    shown = sanitize_for_display(text)
    assert shown == ("abc\u241b" * 25_000) + "\u27e89B\u27e9"
