"""``glm-tui mcp import FILE`` as a person runs it: another client's server list into config.toml.

Each test runs the real command on a real file and reads the config file back, both as text
(comments and the person's other settings are still there, values are as written) and through
glm-tui's own loader (what was written is a valid ``[mcp_servers.NAME]`` profile).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from glm_tui.cli.mcp_import import parse_client_config
from glm_tui.model.mcp_profile import McpServerProfile
from glm_tui.settings.config import load_settings
from tests.support.hostile import terminal_escapes
from tests.support.mcp_cli import run_glm_tui
from tests.support.terminal_run import run_on_pty

EXISTING = """\
# my glm-tui settings: keep this comment
theme = "nord"  # the theme I like

[servers.default]
base_url = "http://127.0.0.1:8000/v1/"  # the local GLM-4
"""

CLAUDE_DESKTOP = {
    "mcpServers": {
        "time": {"command": "uvx", "args": ["mcp-server-time", "--local-timezone=Europe/Paris"]},
        "github": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-github"],
            "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_literal_secret_123",
                    "GITHUB_HOST": "${env:GITHUB_HOST}"},
        },
        "remote": {"type": "http", "url": "https://mcp.example.com/mcp",
                   "headers": {"Authorization": "Bearer ${env:MCP_TOKEN}",
                               "X-Team": "${TEAM}"}},
        "legacy": {"type": "sse", "url": "https://old.example.com/sse"},
        "my files": {"command": "mcp-files", "alwaysAllow": ["read_file"]},
    }
}


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def test_a_claude_desktop_file_becomes_profiles_and_the_rest_of_the_config_stays(
    tmp_path: Path, config_path: Path
) -> None:
    config_path.write_text(EXISTING, encoding="utf-8")
    source = write_json(tmp_path / "claude_desktop_config.json", CLAUDE_DESKTOP)
    result = run_glm_tui("mcp", "import", str(source),
                         env={"MCP_TOKEN": "expanded-secret-value", "GITHUB_HOST": "gh.example"})
    assert result.returncode == 1, result.stderr  # one entry (SSE) was left out
    text = config_path.read_text(encoding="utf-8")
    assert text.startswith(EXISTING)  # comments, order and values kept
    assert "expanded-secret-value" not in text and "gh.example" not in text
    assert "ghp_literal_secret_123" in text  # an env value is written as it was
    assert "legacy" not in text
    profiles = load_settings().mcp_servers
    assert list(profiles) == ["time", "github", "remote", "my-files"]
    assert profiles["time"] == McpServerProfile(
        name="time", command="uvx", args=("mcp-server-time", "--local-timezone=Europe/Paris"))
    assert profiles["github"].env == {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_literal_secret_123",
                                      "GITHUB_HOST": "${GITHUB_HOST}"}
    assert profiles["remote"] == McpServerProfile(
        name="remote", url="https://mcp.example.com/mcp",
        headers={"Authorization": "Bearer ${MCP_TOKEN}", "X-Team": "${TEAM}"})
    assert profiles["my-files"].command == "mcp-files"
    # What the person is told: each server written, each one left out and why; no secret.
    assert "imported time: uvx mcp-server-time --local-timezone=Europe/Paris" in result.stdout
    assert "imported github: npx -y @modelcontextprotocol/server-github (env: " in result.stdout
    assert "4 servers written to" in result.stdout
    assert "not imported: legacy: it uses the SSE transport" in result.stderr
    assert "my-files: imported as my-files" in result.stderr
    assert "alwaysAllow not imported" in result.stderr
    assert "ghp_literal_secret_123" not in result.stdout + result.stderr


def test_vs_code_servers_and_selected_names(tmp_path: Path, config_path: Path) -> None:
    source = write_json(tmp_path / "mcp.json", {
        "inputs": [],
        "servers": {
            "fetch": {"type": "stdio", "command": "uvx", "args": ["mcp-server-fetch"]},
            "docs": {"type": "http", "url": "http://127.0.0.1:9000/mcp"},
            "asks": {"type": "http", "url": "https://x.example/mcp",
                     "headers": {"Authorization": "Bearer ${input:token}"}},
        },
    })
    result = run_glm_tui("mcp", "import", str(source), "fetch", "docs")
    assert result.returncode == 0, result.stderr
    assert list(load_settings().mcp_servers) == ["fetch", "docs"]
    assert config_path.stat().st_mode & 0o777 == 0o600  # a new config file is private
    asked = run_glm_tui("mcp", "import", str(source), "asks")
    assert asked.returncode == 1
    assert "${input:...}" in asked.stderr and "nothing was written" in asked.stderr


def test_bad_json_names_the_line_and_column_and_writes_nothing(
    tmp_path: Path, config_path: Path
) -> None:
    config_path.write_text(EXISTING, encoding="utf-8")
    source = tmp_path / "broken.json"
    source.write_text('{\n  "mcpServers": {\n    "time": {"command": "uvx",}\n  }\n}\n',
                      encoding="utf-8")
    result = run_glm_tui("mcp", "import", str(source))
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"{source} is not valid JSON: line 3, column 31" in result.stderr
    assert "Traceback" not in result.stderr
    assert config_path.read_text(encoding="utf-8") == EXISTING
    source.write_text('{\n  // my servers\n  "servers": {}\n}\n', encoding="utf-8")
    commented = run_glm_tui("mcp", "import", str(source))
    assert commented.returncode == 2
    assert "line 2, column 3" in commented.stderr
    assert "comments are not JSON" in commented.stderr


def test_a_name_already_configured_needs_replace(tmp_path: Path, config_path: Path) -> None:
    before = EXISTING + '\n[mcp_servers.time]  # mine\ncommand = "my-time"\n'
    config_path.write_text(before, encoding="utf-8")
    source = write_json(tmp_path / "c.json", CLAUDE_DESKTOP)
    refused = run_glm_tui("mcp", "import", str(source), "time", "remote")
    assert refused.returncode == 2
    assert "already has [mcp_servers.time]" in refused.stderr
    assert "--replace" in refused.stderr and "nothing was written" in refused.stderr
    assert config_path.read_text(encoding="utf-8") == before
    replaced = run_glm_tui("mcp", "import", "--replace", str(source), "time", "remote")
    assert replaced.returncode == 0, replaced.stderr
    text = config_path.read_text(encoding="utf-8")
    assert text.startswith(EXISTING)
    assert "my-time" not in text
    profiles = load_settings().mcp_servers
    assert list(profiles) == ["time", "remote"]
    assert profiles["time"].command == "uvx"


def test_a_file_without_servers_and_a_missing_file(tmp_path: Path) -> None:
    other = write_json(tmp_path / "settings.json", {"editor.fontSize": 14})
    result = run_glm_tui("mcp", "import", str(other))
    assert result.returncode == 2
    assert 'has no "mcpServers"' in result.stderr
    missing = run_glm_tui("mcp", "import", str(tmp_path / "nope.json"))
    assert missing.returncode == 2
    assert "no such file" in missing.stderr


def test_hostile_names_and_commands_are_visible_safe_on_a_terminal(
    tmp_path: Path, config_path: Path
) -> None:
    source = write_json(tmp_path / "evil.json", {"mcpServers": {
        "evil\x1b]0;pwned\x07": {"command": "run\x1b[2J", "args": ["\x1b]52;c;ZXZpbA==\x07"]},
        "sse\x9b2J": {"type": "sse", "url": "https://x.example/sse"},
    }})
    run = run_on_pty("mcp", "import", str(source))
    assert run.returncode == 1, run.text
    assert not terminal_escapes(run.output), run.text
    assert "imported evil-0-pwned" in run.text
    assert "\u241b[2J" in run.text  # the escape shown as a visible stand-in
    profile = load_settings().mcp_servers["evil-0-pwned"]
    assert profile.command == "run\x1b[2J"  # the data itself is kept exactly


@pytest.mark.parametrize(("entry", "expected"), [
    ({"serverUrl": "https://w.example/mcp"}, McpServerProfile(name="s", url="https://w.example/mcp")),
    ({"httpUrl": "http://127.0.0.1:1/mcp"}, McpServerProfile(name="s", url="http://127.0.0.1:1/mcp")),
    ({"type": "streamable-http", "url": "https://x.example/mcp/"},
     McpServerProfile(name="s", url="https://x.example/mcp/")),
    ({"command": "srv", "args": ["--port", 8080, True], "env": {"DEBUG": 1}},
     McpServerProfile(name="s", command="srv", args=("--port", "8080", "true"),
                      env={"DEBUG": "1"})),
])
def test_other_clients_spellings(entry: dict[str, Any], expected: McpServerProfile) -> None:
    plan = parse_client_config(json.dumps({"mcpServers": {"s": entry}}), "f.json")
    assert plan.skipped == []
    assert [server.profile for server in plan.servers] == [expected]


@pytest.mark.parametrize(("entry", "reason"), [
    ({"url": "https://x.example/sse"}, "SSE transport"),
    ({"command": "srv", "cwd": "/srv"}, "working directory"),
    ({"command": "srv", "envFile": ".env"}, "env file"),
    ({"command": "srv", "disabled": True}, "disabled"),
    ({"command": "srv", "url": "https://x.example/mcp"}, "both a command and a URL"),
    ({"type": "websocket", "url": "wss://x.example"}, "'websocket' is not one glm-tui knows"),
    ({"type": "http", "url": "ftp://x.example"}, "no http:// or https:// URL"),
    ({"command": ["srv"]}, "no command"),
    ({"command": "srv", "args": [{"a": 1}]}, "is not text"),
    ({"command": "srv", "env": {"A": None}}, "env A is not text"),
    ("srv", "not an object"),
])
def test_entries_that_cannot_be_imported_say_why(entry: Any, reason: str) -> None:
    plan = parse_client_config(json.dumps({"mcpServers": {"s": entry}}), "f.json")
    assert plan.servers == []
    (skipped,) = plan.skipped
    assert reason in skipped.reason


def test_names_made_valid_and_a_clash_between_them() -> None:
    plan = parse_client_config(json.dumps({"mcpServers": {
        "my server": {"command": "a"}, "my/server": {"command": "b"}, "???": {"command": "c"},
        "x" * 80: {"command": "d"}}}), "f.json")
    assert [server.profile.name for server in plan.servers] == ["my-server", "x" * 64]
    assert [(s.source_name, s.reason) for s in plan.skipped] == [
        ("my/server", "it would be named my-server, like the entry 'my server'"),
        ("???", "its name has no letters or digits to make a profile name from")]
