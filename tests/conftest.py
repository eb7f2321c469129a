"""Fixtures for every test: isolated config and data directories, real demo servers on loopback."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

# A suite started in the background by a non-interactive shell (``pytest &``, some CI runners)
# inherits SIGINT ignored, and so would every glm-tui process the tests start: Python then
# installs no KeyboardInterrupt handler and the tests that press Ctrl+C (SIGINT) on ``ask`` or
# ``serve-demo`` wait in vain. Children inherit the default action again from here.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point glm-tui's config and data at a temporary directory so no test touches the user's."""
    home = tmp_path / "glm-home"
    (home / "data").mkdir(parents=True)
    monkeypatch.setenv("GLM_TUI_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("GLM_TUI_CONFIG", str(home / "config.toml"))
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return home


@pytest.fixture
def data_dir(isolated_dirs: Path) -> Path:
    return isolated_dirs / "data"


@pytest.fixture
def config_path(isolated_dirs: Path) -> Path:
    return isolated_dirs / "config.toml"


@pytest.fixture
def request_log(tmp_path: Path) -> Path:
    return tmp_path / "requests.jsonl"


def _demo_server(flavor: str, log: Path) -> Iterator[str]:
    from glm_tui.demo.server import DemoServer

    server = DemoServer(flavor=flavor, token_rate=2000.0, log_requests=log)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def glm4_server(request_log: Path) -> Iterator[str]:
    """A real GLM-4-flavoured demo server on a free loopback port; yields its base URL."""
    yield from _demo_server("glm4", request_log)


@pytest.fixture
def openai_server(request_log: Path) -> Iterator[str]:
    """A real clean-OpenAI-flavoured demo server on a free loopback port; yields its base URL."""
    yield from _demo_server("openai", request_log)


@pytest.fixture
def vllm_server(request_log: Path) -> Iterator[str]:
    """A vLLM-flavoured demo server (owned_by "vllm", thinking in ``reasoning``)."""
    yield from _demo_server("vllm", request_log)


@pytest.fixture
def inline_server(request_log: Path) -> Iterator[str]:
    """A vLLM-without-reasoning-parser demo server (thinking as ``<think>`` in the content)."""
    yield from _demo_server("inline", request_log)


@pytest.fixture
def dead_url() -> str:
    """A loopback URL where nothing listens (a port bound and released just now)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1/"
