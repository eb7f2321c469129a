"""The layers hold at run time too: nothing below ``ui`` loads Textual, the demo loads nothing else.

``lint-imports`` (the contracts in ``pyproject.toml``) checks the import statements; these tests
check what importing really loads, which also catches an import hidden in a function body that
runs at import time, or a dependency that drags Textual in.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "glm_tui"
BELOW_UI = ("model", "settings", "client", "storage", "chat", "demo", "tool_servers")


def _modules(package: str) -> list[str]:
    root = PACKAGE / package
    return sorted(
        "glm_tui." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts).removesuffix(
            ".__init__")
        for p in root.rglob("*.py")
    )


def _loaded_after_importing(modules: list[str], prefix: str) -> list[str]:
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print('\\n'.join(sorted(n for n in sys.modules if n.startswith({prefix!r}))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_every_package_below_ui_is_importable_without_textual() -> None:
    modules = [m for package in BELOW_UI for m in _modules(package)]
    assert len(modules) > 30  # the walk found the tree
    assert _loaded_after_importing(modules, "textual") == []


def test_the_demo_server_loads_nothing_else_of_glm_tui() -> None:
    loaded = _loaded_after_importing(_modules("demo"), "glm_tui")
    assert [m for m in loaded if m != "glm_tui" and not m.startswith("glm_tui.demo")] == []


def test_cli_help_does_not_load_the_heavy_libraries() -> None:
    """``glm-tui --help`` and the first frame must not pay for openai, Pillow or jsonschema."""
    code = (
        "import sys\nfrom glm_tui.cli import build_parser\nbuild_parser()\n"
        "print(sorted({n.split('.')[0] for n in sys.modules}\n"
        "             & {'openai', 'PIL', 'jsonschema', 'mcp'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
