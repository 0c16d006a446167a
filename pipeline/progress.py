"""Progress of a local run a person can read: `[k/n] <component>: started`, then `done in
12 s` or `reused from cache`, for every component of the graph.

LocalDagRunner has no callback; it announces each component in absl log records whose
format strings are fixed (tfx/orchestration/local/local_dag_runner.py and
tfx/orchestration/portable/launcher.py, TFX 1.21). A filter on the `absl` logger reads
them while the run lasts and passes only warnings and errors on, so TFX's INFO chatter
stays out of the terminal and the log file. The parallel runner (pipeline/parallel_runner.py)
tells ComponentProgress itself.

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


class ComponentProgress:
    """Prints `[k/n] <component>: started` and `[k/n] <component>: done in 12 s` (or
    `reused from cache`); k counts the components started or finished so far, so the lines
    stay right when components run at the same time (pipeline/parallel_runner.py)."""

    def __init__(self, components: int):
        self.components = components
        self.starts = 0
        self.finishes = 0
        self.started_at = {}

    def started(self, component: str) -> None:
        self.starts += 1
        self.started_at[component] = time.monotonic()
        log.info("[%d/%d] %s: started", self.starts, self.components, component)

    def finished(self, component: str, cached: bool) -> None:
        self.finishes += 1
        seconds = time.monotonic() - self.started_at.pop(component)
        outcome = "reused from cache" if cached else f"done in {seconds:.0f} s"
        log.info("[%d/%d] %s: %s", self.finishes, self.components, component, outcome)


class LauncherMessages(logging.Filter):
    """Tells `progress` of LocalDagRunner's start and end of each component and whether the
    launcher reused it from cache, read from TFX's messages on the absl logger. Passes only
    warnings and errors on."""

    def __init__(self, progress: ComponentProgress):
        super().__init__()
        self.progress = progress
        self.cached = False

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == COMPONENT_RUNNING:
            self.cached = False
            self.progress.started(record.args[0])
        elif record.msg == CACHED_EXECUTION_USED:
            self.cached = True
        elif record.msg == COMPONENT_FINISHED:
            self.progress.finished(record.args[0], self.cached)
        return record.levelno >= logging.WARNING


@contextlib.contextmanager
def component_progress(components: int):
    """Within: one progress line as each of the run's `components` starts and ends."""
    tfx_logger = logging.getLogger(TFX_LOGGER)
    progress = ComponentProgress(components)
    messages = LauncherMessages(progress)
    saved_verbosity = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.INFO)
    tfx_logger.addFilter(messages)
    try:
        yield progress
    finally:
        tfx_logger.removeFilter(messages)
        absl_logging.set_verbosity(saved_verbosity)
