"""What a local run checks before any work, without importing TensorFlow, TFX or Beam
(`y8m run` answers a bad input in a second, not after the frameworks' imports): the
input patterns match files, and the Beam job service answers. The caller holds the output
directory (output_lock.exclusive_run) and has loaded the profile (pipeline/profile.py)."""
from typing import NamedTuple

from common.input_files import expand_patterns
from pipeline import beam_options


class RunInputs(NamedTuple):
    files: list[str]  # the video-level files, labelled then test
    frame_files: list[str]
    beam_pipeline_args: list[str]


def check_run_inputs(labelled_patterns: list[str], test_patterns: list[str], frame_patterns: list[str] | None,
                     beam_runner: str, extra_beam_args: list[str] | None) -> RunInputs:
    """The files each pattern matches and the run's Beam arguments; InvalidInputError or
    UserError naming what is wrong."""
    files = expand_patterns(labelled_patterns, "labelled") + expand_patterns(test_patterns, "test")
    frame_files = expand_patterns(frame_patterns, "frame-level") if frame_patterns else []
    beam_pipeline_args = beam_options.local_dag_beam_args(beam_runner, extra_beam_args)
    beam_options.check_job_service(beam_pipeline_args)
    return RunInputs(files, frame_files, beam_pipeline_args)
