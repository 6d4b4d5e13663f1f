"""A time limit HiGHS cannot overrun: a large time-limited solve runs in a child process.

HiGHS checks its clock and its interrupt callbacks in most loops but not in all. In highspy 1.16
the root node's mod-k cut separator (``HighsModkSeparator::separateLpSolution``, seen with
py-spy) ran 47 s past a 10 s limit on a 20,000 × 3,000 MCLP, calling no callback meanwhile. A C++
loop cannot be stopped from Python, but a process can. So the solve runs in a child that streams
every improving solution and dual bound back as HiGHS reports them; a child still running at the
limit (plus a grace of 1 s and 5 %) is killed, and the best solution and bound it reported are
the answer, as HiGHS itself would have returned them at the limit.

The child is a fresh interpreter (``subprocess``, not ``multiprocessing``: that would re-run the
user's script or notebook module in the child). Starting it costs about 0.3 s, so problems
smaller than :data:`GUARD_NNZ` nonzeros, whose separation rounds take milliseconds, are solved
in this process with the interrupt callbacks only.
"""

from __future__ import annotations

import os
import pickle
import queue
import subprocess
import sys
import threading
import time
import warnings
from collections import deque
from pathlib import Path

import numpy as np

from siting.errors import SitingError
from siting.models._base import HighsProblem, MipOutcome, _err, _rel_gap, objective_of, solve_problem

# A child is killed this long after the limit: time for HiGHS to stop by itself first.
GRACE_SECONDS = 1.0
GRACE_SHARE = 0.05
# Problems with fewer nonzeros run in this process (see the module docstring).
GUARD_NNZ = 50_000
KILLED_STATUS = "Interrupted (stopped at the time limit)"

_CHILD = "from siting.models._guard import _child_main; _child_main()"


def solve_within(problem: HighsProblem, time_limit: float, guard: bool | None = None) -> MipOutcome:
    """Solve ``problem`` and return by ``time_limit`` seconds (plus the grace), whatever HiGHS does.

    ``guard`` forces the child process on (``True``) or off (``False``); by default it is used
    for problems of :data:`GUARD_NNZ` nonzeros or more.
    """
    t0 = time.perf_counter()
    deadline = time.monotonic() + time_limit
    if guard is None:
        guard = problem.a.nnz >= GUARD_NNZ
    child = _start_child() if guard else None
    if child is None:
        return solve_problem(problem, time_limit=time_limit, deadline=deadline)
    messages: queue.Queue = queue.Queue()
    reader = threading.Thread(target=_read, args=(child.stdout, messages), daemon=True)
    reader.start()
    # Drained as it comes: a child whose stderr pipe is full (a HiGHS log switched on through
    # ``options``) would block on its next write and look like a slow solve.
    tail: deque[bytes] = deque(maxlen=64)
    drain = threading.Thread(target=_drain, args=(child.stderr, tail), daemon=True)
    drain.start()
    best: tuple[float, np.ndarray] | None = None
    bound = float("nan")
    heard = killed = False
    hard = t0 + time_limit * (1 + GRACE_SHARE) + GRACE_SECONDS
    try:
        pickle.dump((problem, time_limit, deadline), child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        child.stdin.close()
        while True:
            try:
                kind, value = messages.get(timeout=max(hard - time.perf_counter(), 0.0))
            except queue.Empty:
                break
            if kind == "done":
                return value
            if kind == "error":
                raise _err(*value)
            if kind == "eof":
                # The pipe closes as the child exits, a moment before its exit code can be read:
                # wait for it, or a crash would be taken for a child killed at the limit.
                try:
                    child.wait(timeout=2.0)
                except subprocess.TimeoutExpired:
                    pass
                break
            heard = True
            if kind == "solution":
                value = (objective_of(problem, value[1]), value[1])  # the solution's own, not the callback's figure
                if best is None or _better(value[0], best[0], problem.maximize):
                    best = value
            elif kind == "bound":
                bound = value
    except BrokenPipeError:
        pass  # the child died before reading the problem; its exit code says why below
    finally:
        if child.poll() is None:
            child.kill()
            killed = True
        child.wait()
        drain.join(timeout=1.0)
        child.stdout.close()
        child.stderr.close()
        stderr = b"".join(tail).decode("utf-8", "replace")
    seconds = time.perf_counter() - t0
    if not killed and not heard:
        # The child never started solving (it could not import siting or its dependencies, say):
        # solve here rather than fail, and say that the limit is HiGHS's own again.
        warnings.warn(f"The separate HiGHS process could not start (exit code {child.returncode}): solving in "
                      f"this process, where HiGHS may overrun the time limit. {stderr[-300:]} / "
                      f"独立求解进程未能启动，改在本进程求解，可能超出时间限制。", RuntimeWarning, stacklevel=3)
        return solve_problem(problem, time_limit=max(deadline - time.monotonic(), 1e-3), deadline=deadline)
    if not killed:
        raise _err(f"The HiGHS process ended with exit code {child.returncode} before it finished: {stderr[-500:]}",
                   f"HiGHS 求解进程异常退出（退出码 {child.returncode}），未完成求解：{stderr[-500:]}")
    if best is None:
        return MipOutcome("no_solution", None, float("nan"), bound, float("inf"), seconds, KILLED_STATUS)
    objective, x = best
    return MipOutcome("time_limit", x, objective, bound, _rel_gap(objective, bound), seconds, KILLED_STATUS)


def _better(a: float, b: float, maximize: bool) -> bool:
    return a > b if maximize else a < b


def _start_child() -> subprocess.Popen | None:
    """A fresh interpreter that imports this same ``siting``; ``None`` where none can start."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    try:
        return subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)
    except OSError:
        return None


def _read(stream, messages: queue.Queue) -> None:
    try:
        while True:
            messages.put(pickle.load(stream))
    except (EOFError, OSError, pickle.UnpicklingError, ValueError):
        messages.put(("eof", None))


def _drain(stream, tail: deque) -> None:
    try:
        for chunk in iter(lambda: stream.read1(4096), b""):
            tail.append(chunk)
    except (OSError, ValueError):
        pass


def _child_main() -> None:
    """The child: read the problem from stdin, stream progress and the outcome to stdout."""
    # HiGHS writes its log to fd 1: keep the real stdout for messages and send fd 1 to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    lock = threading.Lock()

    def send(kind, value):
        with lock:
            pickle.dump((kind, value), out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()

    problem, time_limit, deadline = pickle.load(sys.stdin.buffer)
    try:
        deadline = min(deadline, time.monotonic() + time_limit)
        outcome = solve_problem(problem, time_limit=max(deadline - time.monotonic(), 1e-3), deadline=deadline,
                                report=send)
    except SitingError as exc:
        send("error", (exc.en, exc.zh))
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the parent, in both languages
        send("error", (f"HiGHS failed: {exc!r}", f"HiGHS 求解出错：{exc!r}"))
    else:
        send("done", outcome)
    out.close()
