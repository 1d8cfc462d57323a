"""`make run` supervises its children: one that dies is restarted with growing delays and whatever it left
behind is killed; beat is a process of its own, started once."""

from __future__ import annotations

import importlib.util
import signal
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def run(monkeypatch) -> ModuleType:
    monkeypatch.setenv("SITE_URL", "http://127.0.0.1:8000")  # the script only sets it when missing
    spec = importlib.util.spec_from_file_location("docent_run_script", ROOT / "scripts" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "BACKOFF_FIRST", 0.05)
    monkeypatch.setattr(module, "BACKOFF_MAX", 0.15)
    return module


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")  # killed, waiting to be reaped


def _wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


def test_a_child_that_dies_is_restarted_with_growing_capped_delays_and_its_leftovers_are_killed(run, tmp_path):
    pidfile = tmp_path / "leftover.pid"
    # Leaves a process behind in its group (as a worker's pool process would) and exits with an error.
    script = (
        "import subprocess, sys; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        f"open({str(pidfile)!r}, 'w').write(str(p.pid)); sys.exit(3)"
    )
    child = run.Child("worker", [sys.executable, "-c", script])
    child.start()
    delays = []
    try:
        for restart in range(4):
            pidfile.unlink(missing_ok=True)
            first = child.process
            first.wait(timeout=30)
            leftover = int(pidfile.read_text())
            now = time.monotonic()
            child.check(now)
            delays.append(round(child.restart_at - now, 2))
            _wait_until(lambda leftover=leftover: _gone(leftover), "the leftover process is killed")
            assert child.process is first  # not before its delay
            child.check(child.restart_at)
            assert child.process is not first
            assert child.restarts == restart + 1
    finally:
        child.signal_group(signal.SIGKILL)
        child.process.wait()
    assert delays == [0.05, 0.1, 0.15, 0.15]


def test_beat_runs_as_its_own_process_once_and_the_worker_does_not_embed_it(run):
    commands = {child.name: child.command for child in run.children()}
    assert sorted(commands) == ["beat", "web", "worker"]
    assert "-B" not in commands["worker"] and "--beat" not in commands["worker"]
    beat = commands["beat"]
    assert beat[beat.index("config") + 1] == "beat"
    assert "--pidfile" in beat
