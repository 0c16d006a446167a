"""The tensorflow-transform analysis: its statistics against numpy, and its one read."""
import apache_beam as beam
import numpy as np
import tensorflow as tf
from apache_beam.portability import common_urns

from models import preprocessing
from pipeline.beam_options import beam_args
from schemas import video_level


def _write_folds(root, features: np.ndarray, folds: int) -> str:
    """`features` rows as video-level records in `folds` gzipped files, one a fold
    directory; returns the one pattern of them all."""
    for fold, rows in enumerate(np.array_split(features, folds)):
        (root / f"fold_{fold}").mkdir()
        with tf.io.TFRecordWriter(str(root / f"fold_{fold}" / "part.tfrecord.gz"), options="GZIP") as writer:
            for i, row in enumerate(rows):
                writer.write(video_level.make_example(f"f{fold}v{i}", [0], row[:video_level.RGB_SIZE],
                                                      row[video_level.RGB_SIZE:]).SerializeToString())
    return str(root / "fold_*" / "*.tfrecord.gz")


def test_the_analysis_over_several_batches_and_files_standardizes_by_the_numpy_moments(tmp_path):
    rng = np.random.default_rng(1)
    features = (rng.normal(size=(250, video_level.FEATURE_SIZE)) * rng.uniform(0.05, 4.0, video_level.FEATURE_SIZE)
                + rng.uniform(-3.0, 3.0, video_level.FEATURE_SIZE)).astype(np.float32)
    pattern = _write_folds(tmp_path, features, folds=3)
    transform_dir = str(tmp_path / "transform")
    with beam.Pipeline(argv=beam_args("local")) as pipeline:
        preprocessing.analyze(pipeline, pattern, transform_dir, True, str(tmp_path / "tmp"), batch_size=32)
    layer = preprocessing.transform_layer(preprocessing.load(transform_dir))
    transformed = layer(preprocessing.split_raw(tf.constant(features)))[preprocessing.FEATURES_KEY].numpy()
    exact = features.astype(np.float64)
    np.testing.assert_allclose(transformed, (exact - exact.mean(axis=0)) / exact.std(axis=0), atol=1e-5)


def test_the_analysis_reads_every_fold_in_one_read_without_a_flatten_of_reads(tmp_path):
    """Beam's local runner materializes a Flatten of several inputs whole: a read per fold,
    flattened, would hold every video."""
    pattern = _write_folds(tmp_path, np.zeros((4, video_level.FEATURE_SIZE), np.float32), folds=2)
    pipeline = beam.Pipeline(argv=beam_args("local"))
    preprocessing.analyze(pipeline, pattern, str(tmp_path / "transform"), True, str(tmp_path / "tmp"))
    transforms = [transform for transform in pipeline.to_runner_api().components.transforms.values()
                  if transform.unique_name.startswith("ReadTrainingVideos/")]
    reads = [transform for transform in transforms if transform.spec.urn == common_urns.primitives.IMPULSE.urn
             and "ReadFromTFRecord" in transform.unique_name]
    flattens = [transform for transform in transforms if transform.spec.urn == common_urns.primitives.FLATTEN.urn]
    assert len(reads) == 1
    assert all(len(flatten.inputs) == 1 for flatten in flattens)
