"""CPU time of processes and of the whole machine, from /proc (Linux), for the benchmarks that print CPU figures."""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int, *, exited_children: bool = False) -> float:
    """User + system CPU of a process (all its threads) so far; 0 when it is gone. `exited_children`: with what its
    children that ended (and were waited for) used, e.g. PostgreSQL's backends that closed."""
    try:
        fields = _stat(pid)
    except (OSError, IndexError):
        return 0.0
    used = int(fields[11]) + int(fields[12])
    if exited_children:
        used += int(fields[13]) + int(fields[14])
    return used / TICK


def children(pid: int) -> list[int]:
    """The live children of a process."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def tree_cpu_seconds(pid: int) -> float:
    """A process, its live children, and what its ended children used (uvicorn and its workers; PostgreSQL)."""
    return cpu_seconds(pid, exited_children=True) + sum(cpu_seconds(child) for child in children(pid))


def postmaster_pid() -> int | None:
    """The embedded PostgreSQL's postmaster (under var/), when it runs on this machine."""
    from config.embedded import PGDATA

    try:
        pid = int((PGDATA / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def postgres_pids() -> list[int]:
    """The embedded PostgreSQL's server processes (the postmaster's children: backends, writers)."""
    postmaster = postmaster_pid()
    return children(postmaster) if postmaster else []


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine used so far (all cores: /proc/stat, less idle and I/O wait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / TICK
