"""Running a tool's local handler: an argument list (never a shell), arguments JSON on stdin.

The caller must have the user's say-so before calling :func:`run_handler`; this module only
makes the run itself safe to wait for: a timeout that kills the process, an output cap that stops
reading (and kills) past it, and a result that says in plain words what happened, so a failed
handler never leaves the user without a way to answer the call by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
from dataclasses import dataclass

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_OUTPUT_CAP = 256 * 1024
STDERR_CAP = 16 * 1024


@dataclass(frozen=True)
class HandlerResult:
    """What a handler run gave: ``ok`` with ``output`` as the tool result, or ``error`` words."""

    ok: bool
    output: str
    exit_status: int | None = None
    stderr: str = ""
    error: str | None = None


def describe_command(argv: list[str]) -> str:
    """The command as a person would read it (quoted exactly, for the confirmation dialog)."""
    return shlex.join(argv)


async def run_handler(
    argv: list[str],
    arguments_json: str,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    output_cap: int = DEFAULT_OUTPUT_CAP,
) -> HandlerResult:
    """Run ``argv`` with ``arguments_json`` on stdin; stdout (decoded UTF-8) becomes the result."""
    if not argv:
        return HandlerResult(False, "", error="the handler command is empty")
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError:
        return HandlerResult(False, "", error=f"the handler program {argv[0]!r} was not found")
    except PermissionError:
        return HandlerResult(False, "", error=f"the handler program {argv[0]!r} is not executable")
    except OSError as exc:
        return HandlerResult(False, "", error=f"the handler could not start: {exc.strerror or exc}")

    assert process.stdin and process.stdout and process.stderr
    stdout = bytearray()
    stderr = bytearray()
    overflow = False

    async def feed() -> None:
        assert process.stdin
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            process.stdin.write(arguments_json.encode("utf-8"))
            await process.stdin.drain()
            process.stdin.close()

    async def read_out() -> None:
        nonlocal overflow
        assert process.stdout
        while chunk := await process.stdout.read(65536):
            stdout.extend(chunk)
            if len(stdout) > output_cap:
                overflow = True
                del stdout[output_cap:]
                _kill(process)  # stop it now: it would block writing to a pipe nobody reads
                return

    async def read_err() -> None:
        assert process.stderr
        while chunk := await process.stderr.read(65536):
            if len(stderr) < STDERR_CAP:
                stderr.extend(chunk[: STDERR_CAP - len(stderr)])

    async def run() -> None:
        await asyncio.gather(feed(), read_out(), read_err())

    timed_out = False
    try:
        try:
            await asyncio.wait_for(run(), timeout)
        except TimeoutError:
            timed_out = True
        if timed_out or overflow:
            _kill(process)
        else:
            # stdout closed: give the process a moment to exit on its own, then stop it.
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                _kill(process)
        with contextlib.suppress(ProcessLookupError):
            await process.wait()
    except BaseException:
        # Cancelled (the user, or the app closing, gave up on this call) or failed: stop the
        # handler now, not after a grace period, and let the exception go on.
        _kill(process)
        with contextlib.suppress(ProcessLookupError):
            await asyncio.shield(process.wait())
        raise

    err_text = stderr.decode("utf-8", "replace").strip()
    if timed_out:
        return HandlerResult(
            False, "", process.returncode, err_text,
            error=f"the handler did not finish within {timeout:g} s and was stopped",
        )
    if overflow:
        return HandlerResult(
            False, stdout.decode("utf-8", "replace"), process.returncode, err_text,
            error=f"the handler printed more than {output_cap:,} bytes and was stopped",
        )
    if process.returncode != 0:
        return HandlerResult(
            False, stdout.decode("utf-8", "replace"), process.returncode, err_text,
            error=f"the handler exited with status {process.returncode}",
        )
    return HandlerResult(True, stdout.decode("utf-8", "replace"), 0, err_text)


def _kill(process: asyncio.subprocess.Process) -> None:
    """Kill the handler's whole process group (it may have started children)."""
    import os
    import signal

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        process.kill()
