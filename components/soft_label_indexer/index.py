"""Soft labels joined onto the videos they belong to (docs/method.md, Stage J).

A training record is the video-level Example plus `soft_label_ids` and
`soft_label_values`: the stack's out-of-fold probabilities on the video's candidates
(zero elsewhere). Trainers read features, hard and soft labels in one stream.
"""
import apache_beam as beam
import numpy as np
import tensorflow as tf

from schemas import predictions as rows
from schemas.soft_labels import SOFT_IDS_KEY, SOFT_VALUES_KEY
from schemas import video_level
from common.errors import InvalidInputError



def keyed_video(serialized: bytes, fold: int):
    feature = tf.train.Example.FromString(serialized).features.feature
    return feature[video_level.ID_KEY].bytes_list.value[0].decode(), (fold, serialized)


def keyed_soft_labels(serialized: bytes):
    row = rows.decode_prediction(serialized)
    if row.class_ids is None:
        raise InvalidInputError(f"stack prediction of video '{row.video_id}' is dense; expected sparse rows")
    if not (np.isfinite(row.scores).all() and (row.scores >= 0).all() and (row.scores <= 1).all()):
        raise InvalidInputError(f"stack prediction of video '{row.video_id}' is not a probability in [0, 1]")
    return row.video_id, (row.class_ids, row.scores)


def with_soft_labels(video_id: str, grouped: dict) -> tuple[int, bytes]:
    """(fold, the video's Example with its soft labels added)."""
    videos, soft = list(grouped["video"]), list(grouped["soft"])
    if len(videos) != 1 or len(soft) != 1:
        raise InvalidInputError(f"video '{video_id}': {len(videos)} video records and {len(soft)} "
                                "soft-label rows; expected one of each")
    fold, serialized = videos[0]
    example = tf.train.Example.FromString(serialized)
    class_ids, values = soft[0]
    example.features.feature[SOFT_IDS_KEY].int64_list.value.extend(class_ids.tolist())
    example.features.feature[SOFT_VALUES_KEY].float_list.value.extend(values.tolist())
    return fold, example.SerializeToString()


@beam.ptransform_fn
def JoinSoftLabels(pipeline, fold_patterns: list[str], soft_label_pattern: str):  # pylint: disable=invalid-name
    """Returns (fold, serialized Example with soft labels) for every video of the folds."""
    videos = ([pipeline | f"ReadFold{fold}" >> beam.io.ReadFromTFRecord(pattern)
               | f"KeyFold{fold}" >> beam.Map(keyed_video, fold)
               for fold, pattern in enumerate(fold_patterns)]
              | "Videos" >> beam.Flatten())
    soft = (pipeline | "ReadSoft" >> beam.io.ReadFromTFRecord(soft_label_pattern)
            | "KeySoft" >> beam.Map(keyed_soft_labels))
    return ({"video": videos, "soft": soft}
            | "Join" >> beam.CoGroupByKey()
            | "Attach" >> beam.MapTuple(with_soft_labels))

