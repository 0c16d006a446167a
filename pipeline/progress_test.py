import logging

from absl import logging as absl_logging

from pipeline import progress


def test_one_line_as_each_component_starts_and_ends(caplog):
    with caplog.at_level(logging.INFO, logger="y8m.run"), progress.component_progress(2):
        # What TFX's LocalDagRunner and launcher log for a component that runs, then one reused.
        absl_logging.info(progress.COMPONENT_RUNNING, "VideoExampleGen")
        absl_logging.info(progress.COMPONENT_FINISHED, "VideoExampleGen")
        absl_logging.info(progress.COMPONENT_RUNNING, "FoldSplitter")
        absl_logging.info(progress.CACHED_EXECUTION_USED, 7)
        absl_logging.info(progress.COMPONENT_FINISHED, "FoldSplitter")
    lines = [record.getMessage() for record in caplog.records if record.name == "y8m.run"]
    assert lines[0] == "[1/2] VideoExampleGen: started"
    assert lines[1].startswith("[1/2] VideoExampleGen: done in ") and lines[1].endswith(" s")
    assert lines[2:] == ["[2/2] FoldSplitter: started", "[2/2] FoldSplitter: reused from cache"]
    assert not [record for record in caplog.records if record.name == "absl"]  # TFX's INFO stays out


def test_progress_survives_a_savedmodel_export(caplog):
    with caplog.at_level(logging.INFO, logger="y8m.run"), progress.component_progress(1):
        # What TensorFlow's SavedModel export does to absl's verbosity around its work.
        saved = absl_logging.get_verbosity()
        absl_logging.set_verbosity(absl_logging.FATAL)
        absl_logging.set_verbosity(saved)
        absl_logging.info(progress.COMPONENT_RUNNING, "Distiller")
    assert [record.getMessage() for record in caplog.records if record.name == "y8m.run"] == [
        "[1/1] Distiller: started"]
