"""``glm-tui mcp list`` against real MCP servers: over pipes, over streamable HTTP, and broken ones.

The servers are :mod:`tests.support.mcp_servers` (the SDK's own server classes) started by the
real command from a real config file; each test's servers carry a unique marker so the test can
prove that none of them outlived the command.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hostile import terminal_escapes
from tests.support.mcp_cli import http_table, processes_with, run_glm_tui, stdio_table, toml_text
from tests.support.mcp_servers import TRICKY_DESCRIPTION, HttpServer, http_server
from tests.support.terminal_run import run_on_pty


@pytest.fixture
def marker() -> str:
    return f"glm-tui-test-{uuid.uuid4().hex}"


@pytest.fixture
def web() -> Iterator[HttpServer]:
    with http_server() as server:
        yield server


def test_each_server_with_its_tools_or_its_failure(
    config_path: Path, data_dir: Path, marker: str, web: HttpServer
) -> None:
    config_path.write_text(toml_text({
        "kit": stdio_table("kit", marker=marker),
        "broken": stdio_table("exits", marker=marker),
        "stuck": stdio_table("hangs", marker=marker, startup_timeout=2),
        "web": http_table(web.url),
    }), encoding="utf-8")
    result = run_glm_tui("mcp", "list")
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert re.search(r"^kit: ready, \d+ tools\n  echo +Echo the text back\n", out, re.M)
    assert re.search(r"^  huge +Returns ten megabytes of text$", out, re.M)
    assert 'broken: failed: the MCP server "broken" could not start' in out
    assert "cannot open the database: no such file" in out  # the server's own words
    assert f"its log: {data_dir / 'logs' / 'mcp-broken.log'}" in out
    assert 'stuck: failed: the MCP server "stuck" could not start' in out
    assert "within 2 s" in out
    assert re.search(r"^web: ready, \d+ tools\n  echo +Echo the text back\n", out, re.M)
    assert result.stderr == "glm-tui: 2 of 4 servers failed\n"
    assert "cannot open the database" in (data_dir / "logs" / "mcp-broken.log").read_text()
    assert processes_with(marker) == []  # every server stopped, the hanging one too


def test_named_servers_only_and_all_ready(config_path: Path, marker: str) -> None:
    config_path.write_text(toml_text({
        "kit": stdio_table("kit", marker=marker),
        "broken": stdio_table("exits", marker=marker),
    }), encoding="utf-8")
    result = run_glm_tui("mcp", "list", "kit")
    assert result.returncode == 0, result.stderr
    assert re.match(r"kit: ready, \d+ tools\n", result.stdout)
    assert "broken" not in result.stdout
    unknown = run_glm_tui("mcp", "list", "nope")
    assert unknown.returncode == 2
    assert "no MCP server named nope" in unknown.stderr and "configured: kit, broken" in (
        unknown.stderr)


def test_nothing_configured_and_a_broken_profile(config_path: Path) -> None:
    empty = run_glm_tui("mcp", "list")
    assert empty.returncode == 0
    assert "No MCP servers are configured" in empty.stdout
    config_path.write_text('[mcp_servers.both]\ncommand = "x"\nurl = "http://127.0.0.1/mcp"\n',
                           encoding="utf-8")
    broken = run_glm_tui("mcp", "list")
    assert broken.returncode == 2
    assert f"{config_path}, line" in broken.stderr and "mcp_servers.both" in broken.stderr


def test_hostile_tool_descriptions_are_visible_safe_on_a_terminal(
    config_path: Path, marker: str
) -> None:
    config_path.write_text(toml_text({"kit": stdio_table("kit", marker=marker)}),
                           encoding="utf-8")
    run = run_on_pty("mcp", "list")
    assert run.returncode == 0, run.text
    assert not terminal_escapes(run.output), run.text
    assert "Shows [bold red]markup[/] and \u241b[31mescapes\u241b[0m literally" in run.text
    piped = run_glm_tui("mcp", "list")
    assert TRICKY_DESCRIPTION in piped.stdout  # a pipe gets the server's text exactly
