"""Operating-system processes of training runs: is one still alive, and signals to its process group.

A run's process is started in a session of its own, so its process group id is its pid and a signal to
the group reaches torchrun's workers too. A pid alone is not proof of life: a finished child of this
server stays a zombie until reaped, and after a reboot the number may belong to another program, so
on Linux the command line must still be that of an OrchestAI training.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

TRAINING_MARK = b"orchestai"  # in the command line of `orchestai train` and `python -m orchestai_core …`


def _reap(pid: int) -> bool:
    """True if `pid` was a finished child of this process (now reaped)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child, or already reaped
        return False
    return done == pid


def _proc_state(pid: int) -> tuple[str | None, bytes | None]:
    """(state letter, command line) from /proc; (None, None) where /proc does not exist."""
    proc = Path("/proc") / str(pid)
    if not Path("/proc/self").exists():
        return None, None
    try:
        stat = (proc / "stat").read_text()
        cmdline = (proc / "cmdline").read_bytes()
    except OSError:
        return "gone", None
    return stat.rsplit(")", 1)[1].split()[0], cmdline


def is_training_alive(pid: int | None) -> bool:
    """Whether a training process with this pid is still running (not a zombie, not a reused pid)."""
    if not pid or pid <= 0 or _reap(pid):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else: not one of ours
        return False
    state, cmdline = _proc_state(pid)
    if state is None:  # no /proc (macOS): the signal check is all there is
        return True
    return state not in ("gone", "Z", "X") and TRAINING_MARK in (cmdline or b"")


def wait_until_started(pid: int, poll: float = 0.001) -> None:
    """Return once the new program's command line is readable in /proc, or the process has ended.

    `subprocess.Popen` returns as soon as exec has begun, but Linux fills in the new program's
    arguments a moment later; until then /proc/<pid>/cmdline is empty and `is_training_alive` would
    take the run's process for a stranger. The wait is for that state change, not for a duration."""
    while True:
        state, cmdline = _proc_state(pid)
        if state is None or state in ("gone", "Z", "X") or cmdline:
            return
        time.sleep(poll)


def signal_group(pid: int, signum: int) -> bool:
    """Send `signum` to the process group led by `pid`; False if it no longer exists."""
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        return False
    return True


def wait_until_dead(pid: int, timeout: float, poll: float = 0.2) -> bool:
    """Poll until the training process has ended or `timeout` seconds passed; True if it ended."""
    deadline = time.monotonic() + timeout
    while is_training_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)
    return True


def terminate(pid: int, grace: float) -> str:
    """SIGTERM to the group, then SIGKILL after `grace` seconds: 'ended', 'killed' or 'gone'."""
    if not is_training_alive(pid) or not signal_group(pid, signal.SIGTERM):
        return "gone"
    if wait_until_dead(pid, grace):
        return "ended"
    signal_group(pid, signal.SIGKILL)
    wait_until_dead(pid, 10.0)
    return "killed"
