"""A server as a tree of processes: CPU time and resident memory summed over a process and its children.

`serve --workers N` is a supervisor and N workers (and multiprocessing's resource tracker); nginx is a
master and its workers. A server's cost is the whole tree's, and its memory is reported per process too.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["command_line", "rss_mb", "tree", "tree_cpu_seconds", "tree_rss_mb"]


def tree(root: int) -> list[int]:
    """`root` and every live descendant, parents first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # it exited while we looked
        children.setdefault(parent, []).append(int(entry.name))
    found = [root]
    for pid in found:
        found.extend(sorted(children.get(pid, [])))
    return found


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_cpu_seconds(root: int) -> float:
    return sum(cpu_seconds(pid) for pid in tree(root))


def tree_rss_mb(root: int) -> float:
    return sum(rss_mb(pid) for pid in tree(root))


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""
