"""Runs a command as this process's child and writes what the child used to a JSON file:
wall and CPU seconds, and peak resident memory (`ru_maxrss`), from `os.wait4`.

    python process_usage.py USAGE.json COMMAND [ARG...]

A small process of its own on purpose: on Linux, exec keeps the high-water mark of the
memory it replaces, so a process forked from a launcher that has imported TensorFlow
reports at least the launcher's peak as its own. Forked from this process, which imports
nothing heavy, the command reports its own peak. That peak is the largest of the process
and the descendants it waited for, not their sum.

Exits as the command did (the same code, or killed by the same signal). SIGTERM is
passed on to the command as SIGKILL, so that a launcher's timeout ends both.
"""
import json
import os
import signal
import sys
import time


def run(command: list[str]) -> tuple[int, dict]:
    """The command's wait status and usage."""
    started = time.monotonic()
    pid = os.posix_spawnp(command[0], command, os.environ)
    signal.signal(signal.SIGTERM, lambda signum, frame: os.kill(pid, signal.SIGKILL))
    _, status, rusage = os.wait4(pid, 0)
    usage = {"seconds": time.monotonic() - started, "cpu_seconds": rusage.ru_utime + rusage.ru_stime,
             "peak_rss_bytes": rusage.ru_maxrss * 1024}  # KiB on Linux
    return status, usage


def exit_as(status: int) -> None:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


def main() -> None:
    usage_path, command = sys.argv[1], sys.argv[2:]
    status, usage = run(command)
    with open(usage_path, "w") as out:
        json.dump(usage, out)
    exit_as(status)


if __name__ == "__main__":
    main()
