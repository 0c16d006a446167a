"""Runs `y8m` in-process and checks what reaches the terminal.

A command's stderr holds the progress lines of the `y8m` loggers and, when it fails,
exactly one line `y8m <command>: error: ...`, the last; nothing of the frameworks (no
traceback, no TensorFlow native log, no Beam step name)."""
import re
from dataclasses import dataclass

from y8m import cli

PROGRESS_LINE = re.compile(r"\d\d:\d\d:\d\d y8m(\.\w+)*: ")
FRAMEWORK_TEXT = ("Traceback", "Invalid input:", "{{function_node", "[Op:", "[while running", "I0000", "W0000",
                  "E0000", "absl::InitializeLog")


@dataclass
class Outcome:
    code: int
    err: list[str]  # the lines on stderr
    out: str


def y8m(capfd, *argv) -> Outcome:
    """Runs `y8m argv...`; capfd captures file descriptors 1 and 2, so native output counts too."""
    capfd.readouterr()
    code = cli.main([str(argument) for argument in argv])
    captured = capfd.readouterr()
    return Outcome(code, captured.err.strip().splitlines(), captured.out)


def assert_no_framework_text(lines: list[str]) -> None:
    text = "\n".join(lines)
    for fragment in FRAMEWORK_TEXT:
        assert fragment not in text, text


def assert_progress_only(lines: list[str]) -> None:
    assert_no_framework_text(lines)
    assert all(PROGRESS_LINE.match(line) for line in lines), lines


def error_line(outcome: Outcome, command: str, code: int = 2) -> str:
    """The one error line of a failed command (`command` "" for `y8m` itself), checked;
    progress lines may precede it."""
    assert outcome.code == code, outcome
    assert outcome.err, "nothing on stderr"
    *progress, last = outcome.err
    assert last.startswith(f"{f'y8m {command}'.rstrip()}: error: "), outcome.err
    assert_progress_only(progress)
    assert_no_framework_text([last])
    assert outcome.out == ""  # no result
    return last


def running(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie (an orphan's end may not be reaped here)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
