"""Where a `y8m` command's output goes while it runs.

The terminal gets the command's own voice only: the progress lines of the `y8m` loggers
on stderr (and, after the command, its JSON result on stdout or one error line on
stderr). Everything else goes to the command's log file: Python logging of every
library (Beam, TFX, absl), TensorFlow's native messages, whatever a library prints, and
the traceback of a failure. Native code writes to the process's file descriptors 1 and
2, not to Python's streams, so those are redirected to the log file while the command
runs.
"""
import contextlib
import datetime
import logging
import os
import sys

PROGRESS_LOGGER = "y8m"
PROGRESS_FORMAT = "%(asctime)s %(name)s: %(message)s"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries log warnings and errors into the file; their INFO is mostly protos.
LIBRARY_LEVEL = logging.WARNING
OUTPUT_DESCRIPTORS = (1, 2)


def _terminal_stream():
    """(the stream the user sees stderr on, whether it is ours to close). When sys.stderr
    is file descriptor 2, it is about to point at the log file: write to a copy of it."""
    try:
        if sys.stderr.fileno() == 2:
            return os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="backslashreplace"), True
    except (AttributeError, OSError, ValueError):  # a replaced sys.stderr without a descriptor
        pass
    return sys.stderr, False


@contextlib.contextmanager
def logging_to(log_path: str, command_line: list[str]):
    """Within: descriptors 1 and 2 and all Python logging go to `log_path` (appended), and
    the `y8m` loggers' progress also to the terminal. Yields the log file, for tracebacks.
    On exit everything is as it was."""
    terminal, own_terminal = _terminal_stream()
    with open(log_path, "a", buffering=1, encoding="utf-8", errors="backslashreplace") as log_file:
        log_file.write(f"{datetime.datetime.now().isoformat(timespec='seconds')} "
                       f"y8m {' '.join(command_line)}\n")
        sys.stdout.flush()
        sys.stderr.flush()
        saved_descriptors = {descriptor: os.dup(descriptor) for descriptor in OUTPUT_DESCRIPTORS}
        for descriptor in OUTPUT_DESCRIPTORS:
            os.dup2(log_file.fileno(), descriptor)
        file_handler = logging.StreamHandler(log_file)
        file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
        progress_handler = logging.StreamHandler(terminal)
        progress_handler.setFormatter(logging.Formatter(PROGRESS_FORMAT, datefmt="%H:%M:%S"))
        root, progress = logging.getLogger(), logging.getLogger(PROGRESS_LOGGER)
        saved_levels = root.level, progress.level
        root.addHandler(file_handler)
        root.setLevel(LIBRARY_LEVEL)
        progress.addHandler(progress_handler)
        progress.setLevel(logging.INFO)
        try:
            yield log_file
        finally:
            progress.removeHandler(progress_handler)
            root.removeHandler(file_handler)
            root.setLevel(saved_levels[0])
            progress.setLevel(saved_levels[1])
            sys.stdout.flush()
            sys.stderr.flush()
            for descriptor, saved in saved_descriptors.items():
                os.dup2(saved, descriptor)
                os.close(saved)
            if own_terminal:
                terminal.close()
