"""`y8m predict`: a pushed SavedModel over any number of video-level files, as a Beam job.

Streams: each worker loads the model once, scores batches of serialized Examples with
the serving signature, and the formatted submission lines are written as they come.
"""
import os

import apache_beam as beam
import tensorflow as tf

from components.example_gen.video_records import CheckUniqueIds, ReadValidatedVideos
from models import serving
from schemas.video_level import NUM_CLASSES
from common.errors import unwrapped_input_errors
from common.input_files import expand_patterns
from pipeline.beam_options import check_job_service, worker_pool_errors
from schemas.submission import HEADER, format_line

BATCH_SIZE = 256


class ScoreBatches(beam.DoFn):
    """Serialized Examples (batched) → (video id, top class ids, top scores)."""

    def __init__(self, model_dir: str):
        self._model_dir = model_dir
        self._serve = None

    def setup(self):
        self._serve = serving.load(self._model_dir)

    def process(self, batch):
        outputs = serving.predict_serialized(self._serve, batch)
        for video_id, class_ids, scores in zip(outputs["video_id"], outputs["class_ids"], outputs["scores"]):
            yield video_id.decode(), class_ids, scores


def predict(model_dir: str, patterns: list[str], output_csv: str, beam_args: list[str]) -> int:
    """Writes the Kaggle-format submission of every video; returns the video count.
    `beam_args`: from pipeline/beam_options.py."""
    serving.check_servable(model_dir)
    files = expand_patterns(patterns, "data")
    check_job_service(beam_args)
    prefix = output_csv + ".part"
    try:
        with worker_pool_errors(beam_args), unwrapped_input_errors(), beam.Pipeline(argv=beam_args) as pipeline:
            videos = pipeline | "Read" >> ReadValidatedVideos(files, NUM_CLASSES)
            _ = {"data": videos} | "UniqueIds" >> CheckUniqueIds()
            lines = (videos
                     | "Serialized" >> beam.Map(lambda video: video.serialized)
                     | "Batch" >> beam.BatchElements(min_batch_size=BATCH_SIZE, max_batch_size=BATCH_SIZE)
                     | "Score" >> beam.ParDo(ScoreBatches(model_dir))
                     | "Format" >> beam.MapTuple(format_line))
            _ = lines | "Write" >> beam.io.WriteToText(prefix, header=HEADER, shard_name_template="")
    except BaseException:
        # A failed job leaves the text sink's temporary directory beside the output.
        for temporary in tf.io.gfile.glob(os.path.join(os.path.dirname(os.path.abspath(prefix)),
                                                       f"beam-temp-{os.path.basename(prefix)}-*")):
            tf.io.gfile.rmtree(temporary)
        raise
    tf.io.gfile.rename(prefix, output_csv, overwrite=True)  # complete files only
    with tf.io.gfile.GFile(output_csv) as written:
        return sum(1 for _ in written) - 1
