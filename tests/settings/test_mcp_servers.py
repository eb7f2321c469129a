"""``[mcp_servers.NAME]`` in config.toml: what is read, and every mistake named by line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from glm_tui.model.mcp_profile import (
    McpServerProfile,
    McpTransport,
    MissingVariable,
    expand_headers,
)
from glm_tui.settings.config import ConfigError, load_settings


def load(tmp_path: Path, text: str) -> dict[str, McpServerProfile]:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(config_path=path, env={}).mcp_servers


def refused(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, text)
    return raised.value


def test_stdio_and_http_profiles_in_file_order(tmp_path: Path) -> None:
    servers = load(tmp_path, """
[mcp_servers.time]
command = "uvx"
args = ["mcp-server-time", "--local-timezone=Europe/Paris"]
env = { TZ_DEBUG = "1" }
call_timeout = 5

[mcp_servers.search]
url = "https://mcp.example.com/mcp"
headers = { Authorization = "Bearer ${SEARCH_TOKEN}" }
startup_timeout = 2.5
""")
    assert list(servers) == ["time", "search"]
    assert servers["time"] == McpServerProfile(
        name="time", command="uvx", args=("mcp-server-time", "--local-timezone=Europe/Paris"),
        env={"TZ_DEBUG": "1"}, call_timeout=5.0)
    assert servers["time"].transport is McpTransport.STDIO
    search = servers["search"]
    assert search.transport is McpTransport.HTTP
    assert search.headers == {"Authorization": "Bearer ${SEARCH_TOKEN}"}  # kept as written
    assert (search.startup_timeout, search.call_timeout) == (2.5, 60.0)


def test_no_table_means_no_servers(tmp_path: Path) -> None:
    assert load(tmp_path, "") == {}


@pytest.mark.parametrize(("text", "line", "key", "words"), [
    ('[mcp_servers.a]\nargs = []\n', 1, "mcp_servers.a", "not neither"),
    ('[mcp_servers.a]\ncommand = "x"\nurl = "http://h/"\n', 1, "mcp_servers.a", "not both"),
    ('[mcp_servers.a]\ncommand = "x"\ncwd = "/"\n', 3, "mcp_servers.a.cwd",
     "unknown MCP server setting"),
    ('[mcp_servers.a]\ncommand = 3\n', 2, "mcp_servers.a.command", "the integer 3"),
    ('[mcp_servers.a]\ncommand = "x"\nargs = "-v"\n', 3, "mcp_servers.a.args",
     "array of strings"),
    ('[mcp_servers.a]\ncommand = "x"\nargs = [1]\n', 3, "mcp_servers.a.args", "array of strings"),
    ('[mcp_servers.a]\ncommand = "x"\nenv = { A = 1 }\n', 3, "mcp_servers.a.env.A",
     "must be a string"),
    ('[mcp_servers.a]\ncommand = "x"\ncall_timeout = 0\n', 3, "mcp_servers.a.call_timeout",
     "positive"),
    ('[mcp_servers.a]\ncommand = "x"\nstartup_timeout = true\n', 3,
     "mcp_servers.a.startup_timeout", "number of seconds"),
    ('[mcp_servers.a]\nurl = "ftp://h/"\n', 2, "mcp_servers.a.url", "http:// or https://"),
    ('[mcp_servers.a]\nurl = "http://h/"\nargs = []\n', 3, "mcp_servers.a.args",
     "not one at a url"),
    ('[mcp_servers.a]\ncommand = "x"\nheaders = {}\n', 3, "mcp_servers.a.headers",
     "server at a url"),
    ('[mcp_servers.a]\nurl = "http://h/"\nheaders = { "A B" = "x" }\n', 3,
     'mcp_servers.a.headers."A B"', "header name"),
    ('[mcp_servers.a]\nurl = "http://h/"\nheaders = { A = "${lower-case}" }\n', 3,
     "mcp_servers.a.headers.A", "${NAME}"),
    ('[mcp_servers."my server"]\ncommand = "x"\n', 1, 'mcp_servers."my server"',
     "letters, digits"),
    ('mcp_servers = 3\n', 1, "mcp_servers", "table of servers"),
    ('[mcp_servers]\na = 3\n', 2, "mcp_servers.a", "must be a table"),
])
def test_a_mistake_names_the_file_line_and_key(tmp_path: Path, text: str, line: int, key: str,
                                               words: str) -> None:
    error = refused(tmp_path, text)
    assert (error.line, error.key) == (line, key)
    assert words in error.message


def test_header_variables_are_expanded_only_when_asked_and_a_missing_one_is_named() -> None:
    headers = {"Authorization": "Bearer ${TOKEN}", "X-Team": "${TEAM}-${REGION}"}
    assert expand_headers(headers, {"TOKEN": "s3cret", "TEAM": "a", "REGION": "eu"}) == {
        "Authorization": "Bearer s3cret", "X-Team": "a-eu"}
    with pytest.raises(MissingVariable) as raised:
        expand_headers(headers, {"TOKEN": "s3cret"})
    assert str(raised.value) == ('the header "X-Team" needs the environment variable TEAM, '
                                 "which is not set")


def test_written_profiles_read_back_the_same_and_keep_the_rest_of_the_file(
        tmp_path: Path) -> None:
    from glm_tui.settings.writer import ConfigWriteError, save_mcp_servers

    path = tmp_path / "config.toml"
    path.write_text("# mine\ntheme = \"nord\"  # keep\n", encoding="utf-8")
    profiles = [
        McpServerProfile("time", command="uvx", args=("mcp-server-time",), env={"A": "1"}),
        McpServerProfile("search", url="https://h/mcp", headers={"Authorization": "${TOKEN}"},
                         call_timeout=90),
    ]
    save_mcp_servers(path, profiles)
    assert 'theme = "nord"  # keep' in path.read_text()
    assert "${TOKEN}" in path.read_text()
    assert list(load_settings(config_path=path, env={}).mcp_servers.values()) == profiles
    with pytest.raises(ConfigWriteError, match="already has MCP server"):
        save_mcp_servers(path, [McpServerProfile("time", command="other")])
    save_mcp_servers(path, [McpServerProfile("time", command="other")], replace=True)
    assert load_settings(config_path=path, env={}).mcp_servers["time"].command == "other"
