"""One run at a time per output directory: a lock file that a run holds while it works.
Light to import (no ML Metadata, no TensorFlow), so that `y8m run` takes it before any work."""
import contextlib
import fcntl
import os

from common.errors import UserError

LOCK_FILE = ".y8m-run.lock"
# The output directories this process holds (exclusive_run).
_HELD: set[str] = set()


@contextlib.contextmanager
def exclusive_run(output_dir: str):
    """Holds the output directory for one run; a second run into it fails at once. Nested
    in the same process (the command takes it before its checks, run_local again), it is
    held once, by the outermost."""
    held = os.path.realpath(output_dir)
    if held in _HELD:
        yield
        return
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, LOCK_FILE), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"another y8m run is writing to {output_dir}; wait for it, or give another "
                            "--output") from None
        _HELD.add(held)
        try:
            yield
        finally:
            _HELD.discard(held)
