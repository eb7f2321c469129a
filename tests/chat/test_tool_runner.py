"""Local tool handlers: real subprocesses, with the failures a user must see explained."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from glm_tui.chat.tool_runner import describe_command, run_handler
from tests.support.waiting import wait_for

PY = sys.executable


async def test_stdout_becomes_the_result_and_stdin_gets_the_arguments() -> None:
    code = "import json,sys; a=json.load(sys.stdin); print(f\"23°C in {a['location']}\")"
    result = await run_handler([PY, "-c", code], '{"location": "San Francisco"}')
    assert result.ok
    assert result.output.strip() == "23°C in San Francisco"


async def test_missing_program() -> None:
    result = await run_handler(["/nonexistent/handler"], "{}")
    assert not result.ok
    assert "was not found" in (result.error or "")


async def test_non_zero_exit_keeps_status_and_stderr() -> None:
    code = "import sys; sys.stderr.write('no such city'); sys.exit(3)"
    result = await run_handler([PY, "-c", code], "{}")
    assert not result.ok
    assert result.exit_status == 3
    assert result.stderr == "no such city"
    assert "status 3" in (result.error or "")


async def test_a_hanging_handler_is_stopped_at_the_timeout() -> None:
    start = time.monotonic()
    result = await run_handler([PY, "-c", "import time; time.sleep(60)"], "{}", timeout=1.0)
    assert time.monotonic() - start < 10
    assert not result.ok
    assert "did not finish within 1 s" in (result.error or "")


def alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def test_cancelling_the_wait_kills_the_handler_and_its_children_at_once(
    tmp_path: Path,
) -> None:
    pids = tmp_path / "pids"
    script = f"sleep 60 & echo $$ $! > {pids}.tmp; mv {pids}.tmp {pids}; wait"
    task = asyncio.create_task(run_handler(["sh", "-c", script], "{}", timeout=120))
    await wait_for(None, pids.exists, what="the handler to start")
    shell, sleeper = map(int, pids.read_text().split())
    assert alive(shell) and alive(sleeper)

    start = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - start < 2
    assert not alive(shell)
    # The orphaned child is reaped by init, not by us.
    await wait_for(None, lambda: not alive(sleeper), what="the handler's child to go")


async def test_100_mb_of_output_is_capped() -> None:
    code = "import sys\nfor _ in range(1600): sys.stdout.write('x' * 65536)"
    start = time.monotonic()
    result = await run_handler([PY, "-c", code], "{}", output_cap=1024 * 1024)
    assert time.monotonic() - start < 20
    assert not result.ok
    assert len(result.output) == 1024 * 1024
    assert "more than 1,048,576 bytes" in (result.error or "")


def test_command_is_shown_quoted_exactly() -> None:
    assert describe_command(["/usr/bin/weather", "--city", "San Francisco"]) == (
        "/usr/bin/weather --city 'San Francisco'"
    )
