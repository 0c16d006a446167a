"""Progress of a local run a person can read: `[k/n] <component>: started`, then `done in
12 s` or `reused from cache`, for every component of the graph.

LocalDagRunner has no callback; it announces each component in absl log records whose
format strings are fixed (tfx/orchestration/local/local_dag_runner.py and
tfx/orchestration/portable/launcher.py, TFX 1.21). A filter on the `absl` logger reads
them while the run lasts and passes only warnings and errors on, so TFX's INFO chatter
stays out of the terminal and the log file.

The absl logger's level is set through absl's own verbosity flag: TensorFlow's SavedModel
export sets that flag to FATAL and back to the value it read from the flag, so a level set
on the logger alone is lost at the first export (the run went silent from StudentTransform on).
"""
import contextlib
import logging
import time

from absl import logging as absl_logging

log = logging.getLogger("y8m.run")

TFX_LOGGER = "absl"
COMPONENT_RUNNING = "Component %s is running."
COMPONENT_FINISHED = "Component %s is finished."
CACHED_EXECUTION_USED = "A cached execution %d is used."


class ComponentProgress(logging.Filter):
    def __init__(self, components: int):
        super().__init__()
        self.components = components
        self.finished = 0
        self.started = 0.0
        self.cached = False

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == COMPONENT_RUNNING:
            self.started, self.cached = time.monotonic(), False
            log.info("[%d/%d] %s: started", self.finished + 1, self.components, record.args[0])
        elif record.msg == CACHED_EXECUTION_USED:
            self.cached = True
        elif record.msg == COMPONENT_FINISHED:
            self.finished += 1
            outcome = "reused from cache" if self.cached else f"done in {time.monotonic() - self.started:.0f} s"
            log.info("[%d/%d] %s: %s", self.finished, self.components, record.args[0], outcome)
        return record.levelno >= logging.WARNING


@contextlib.contextmanager
def component_progress(components: int):
    """Within: one progress line as each of the run's `components` starts and ends."""
    tfx_logger = logging.getLogger(TFX_LOGGER)
    progress = ComponentProgress(components)
    saved_verbosity = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.INFO)
    tfx_logger.addFilter(progress)
    try:
        yield progress
    finally:
        tfx_logger.removeFilter(progress)
        absl_logging.set_verbosity(saved_verbosity)
