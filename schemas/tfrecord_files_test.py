"""The fast reader of split files reads what TensorFlow's reader reads, and names the
first record lost in a damaged file."""
import gzip
import pathlib
import types

import pytest
import tensorflow as tf

from common.errors import InvalidInputError
from schemas import splits, tfrecord_files, video_level

# An empty record, one larger than a read block, and enough small ones to span blocks.
RECORDS = [b"first", b"", b"x" * (tfrecord_files.READ_BYTES + 7), *(f"record {i}".encode() * 50 for i in range(3000))]


def split_file(tmp_path, records, dense_scores: bool) -> str:
    artifact = types.SimpleNamespace(uri=str(tmp_path))
    splits.write_split_records(artifact, splits.TEST, records, dense_scores=dense_scores)
    [path] = splits.split_files(artifact, splits.TEST)
    return path


def tensorflow_records(path: str) -> list[bytes]:
    return list(tf.data.TFRecordDataset(path, compression_type=video_level.compression_of(path)).as_numpy_iterator())


@pytest.mark.parametrize("dense_scores", [True, False], ids=["stored", "deflated"])
def test_split_files_read_as_tensorflow_reads_them(tmp_path, dense_scores):
    path = split_file(tmp_path, RECORDS, dense_scores)
    assert list(tfrecord_files.read_records(path)) == tensorflow_records(path) == RECORDS


def test_an_uncompressed_file_and_an_empty_split_file(tmp_path):
    path = str(tmp_path / "plain.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        for record in RECORDS[:10]:
            writer.write(record)
    assert list(tfrecord_files.read_records(path)) == RECORDS[:10]
    assert list(tfrecord_files.read_records(split_file(tmp_path / "empty", [], dense_scores=True))) == []


def test_gzip_members_one_after_another_and_a_header_with_a_name(tmp_path):
    stored = pathlib.Path(split_file(tmp_path / "a", RECORDS[:2], dense_scores=True)).read_bytes()
    plain = str(tmp_path / "plain.tfrecord")
    with tf.io.TFRecordWriter(plain) as writer:
        writer.write(b"third")
    with open(plain, "rb") as source, gzip.open(tmp_path / "named.gz", "wb") as named:  # gzip names its file
        named.write(source.read())
    path = tmp_path / "joined.tfrecord.gz"
    path.write_bytes(stored + (tmp_path / "named.gz").read_bytes())
    assert list(tfrecord_files.read_records(str(path))) == RECORDS[:2] + [b"third"]


def test_batches_span_files_as_a_tensorflow_batch_does(tmp_path):
    artifact = types.SimpleNamespace(uri=str(tmp_path))
    records = [f"row {i}".encode() for i in range(10)]
    splits.write_split_records(artifact, splits.TEST, records, dense_scores=True, records_per_file=4)
    assert list(splits.read_split_batches(artifact, splits.TEST, batch_size=3)) == [
        list(batch) for batch in tf.data.TFRecordDataset(splits.split_files(artifact, splits.TEST),
                                                         compression_type="GZIP").batch(3).as_numpy_iterator()]


def damaged_copy(tmp_path, data: bytes, name: str = "damaged.tfrecord.gz") -> str:
    (tmp_path / name).write_bytes(data)
    return str(tmp_path / name)


# Small records, all in the first stored block of their file.
SMALL_RECORDS = RECORDS[:2] + RECORDS[3:11]
# The gzip header and the first block's header before the records in a stored file.
HEADERS_BYTES = 10 + 5


def stored_file_bytes(tmp_path, records) -> bytearray:
    return bytearray(pathlib.Path(split_file(tmp_path, records, dense_scores=True)).read_bytes())


def record_start(index: int, records=SMALL_RECORDS) -> int:
    """Where record `index` starts in the uncompressed bytes."""
    return sum(video_level.RECORD_FRAMING_BYTES + len(record) for record in records[:index])


@pytest.mark.parametrize("cut", [100, 5000, 2 << 20])
def test_a_file_cut_short_names_the_record_it_cuts(tmp_path, cut):
    path = damaged_copy(tmp_path, bytes(stored_file_bytes(tmp_path, RECORDS)[:-cut]))
    with pytest.raises(InvalidInputError, match=rf"{path}: record \d+: the file is cut short"):
        list(tfrecord_files.read_records(path))


def test_a_corrupted_length_names_its_record(tmp_path):
    data = stored_file_bytes(tmp_path, SMALL_RECORDS)
    data[HEADERS_BYTES + record_start(4)] ^= 0x01  # the low byte of record 4's length
    path = damaged_copy(tmp_path, bytes(data))
    with pytest.raises(InvalidInputError, match=rf"{path}: record 4: corrupted record at byte {record_start(4)}"):
        list(tfrecord_files.read_records(path))


def test_a_corrupted_record_is_found_by_its_checksum_or_without_one_by_the_container(tmp_path, monkeypatch):
    data = stored_file_bytes(tmp_path, SMALL_RECORDS)
    data[HEADERS_BYTES + record_start(3) + video_level.RECORD_HEADER_BYTES] ^= 0x01  # record 3's first byte
    path = damaged_copy(tmp_path, bytes(data))
    with pytest.raises(InvalidInputError, match=rf"{path}: record 3: corrupted record at byte {record_start(3)}"):
        list(tfrecord_files.read_records(path))
    monkeypatch.setattr(video_level, "_crc32c", None)
    with pytest.raises(InvalidInputError, match=rf"{path}: record 10: not a valid gzip file \(incorrect data check\)"):
        list(tfrecord_files.read_records(path))


def test_a_file_that_is_not_gzip_and_one_that_is_not_tfrecords(tmp_path):
    path = damaged_copy(tmp_path, b"not gzip at all")
    with pytest.raises(InvalidInputError, match=rf"{path}: record 0: not a valid gzip file \(incorrect header check\)"):
        list(tfrecord_files.read_records(path))
    path = damaged_copy(tmp_path, gzip.compress(b"neither a record"), "text.tfrecord.gz")
    with pytest.raises(InvalidInputError, match=rf"{path}: record 0: not a valid TFRecord file"):
        list(tfrecord_files.read_records(path))
