"""TFRecord reading: scan_record_heads reads each record only as far as asked, and finds a
damaged file as scan_records (a full read through TensorFlow) does."""
import gzip
import struct

import pytest
import tensorflow as tf

from schemas import video_level

RECORDS = [b"first record", b"", b"x" * 3000, b"fourth", b"last"]


@pytest.fixture(name="good")
def good_file(tmp_path) -> bytes:
    path = str(tmp_path / "good.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        for record in RECORDS:
            writer.write(record)
    with open(path, "rb") as source:
        return source.read()


def offsets(data: bytes) -> list[int]:
    """Where each record starts: 8-byte length, 4-byte checksum, the data, 4-byte checksum."""
    found, offset = [], 0
    while offset < len(data):
        found.append(offset)
        offset += video_level.RECORD_FRAMING_BYTES + struct.unpack("<Q", data[offset:offset + 8])[0]
    return found


def flipped(data: bytes, position: int) -> bytes:
    damaged = bytearray(data)
    damaged[position] ^= 0x40
    return bytes(damaged)


def heads(path: str, size: int = -1) -> list:
    """scan_record_heads' items, each record read to `size` bytes (all by default)."""
    return [item if isinstance(item, video_level.Damage) else (item[0], item[1].read(size))
            for item in video_level.scan_record_heads(path)]


def write(tmp_path, name: str, data: bytes) -> str:
    (tmp_path / name).write_bytes(data)
    return str(tmp_path / name)


def test_a_good_file_reads_as_scan_records_and_only_as_far_as_asked(tmp_path, good):
    path = write(tmp_path, "good.tfrecord", good)
    assert heads(path) == list(video_level.scan_records(path)) == list(enumerate(RECORDS))
    assert heads(path, 5) == [(index, record[:5]) for index, record in enumerate(RECORDS)]
    pieces = []
    for index, record in video_level.scan_record_heads(path):  # a record read in parts, to its end
        pieces.append((index, record.length, record.read(3) + record.read(4) + record.read(), record.read(1)))
    assert pieces == [(index, len(record), record, b"") for index, record in enumerate(RECORDS)]
    assert heads(write(tmp_path, "empty.tfrecord", b"")) == []


def length_header(length: int) -> bytes:
    """A record's length and its valid checksum."""
    encoded = struct.pack("<Q", length)
    return encoded + struct.pack("<I", video_level.masked_crc32c(encoded))


# name: (good file's bytes, where its records start) -> the damaged file's bytes
DAMAGED = {
    "corrupt length header": lambda good, starts: flipped(good, starts[2] + 1),
    "corrupt first length header": lambda good, starts: flipped(good, 3),
    "length running past the end": lambda good, starts: good[:starts[2]] + length_header(5000) + good[starts[2] + 12:],
    "cut inside a record": lambda good, starts: good[:starts[2] + 100],
    "cut after a length header": lambda good, starts: good[:starts[3] + 12],
    "cut inside a data checksum": lambda good, starts: good[:starts[4] - 2],
    "cut inside a length header": lambda good, starts: good[:starts[3] + 5],
    "text": lambda good, starts: b"VideoId,Labels\nabcd,1 2\n" * 20,
    "gzip named .tfrecord": lambda good, starts: gzip.compress(good),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_a_damaged_file_is_found_as_scan_records_finds_it(tmp_path, good, case):
    path = write(tmp_path, "damaged.tfrecord", DAMAGED[case](good, offsets(good)))
    found, expected = heads(path), list(video_level.scan_records(path))
    assert isinstance(found[-1], video_level.Damage) and found == expected


@pytest.mark.parametrize("case", ["length running past the end", "cut inside a record", "cut inside a length header"])
def test_without_a_crc32c_implementation_lengths_are_checked_against_the_file(tmp_path, good, monkeypatch, case):
    path = write(tmp_path, "damaged.tfrecord", DAMAGED[case](good, offsets(good)))
    expected = list(video_level.scan_records(path))
    monkeypatch.setattr(video_level, "_crc32c", None)
    assert heads(path) == expected


def test_a_record_whose_data_is_corrupt_is_found_when_checked(tmp_path, good):
    starts = offsets(good)
    path = write(tmp_path, "corrupt.tfrecord", flipped(good, starts[2] + 12 + 40))
    expected = list(video_level.scan_records(path))
    assert expected[-1] == video_level.Damage(2, video_level.corrupted_reason(starts[2] + 12))
    # Not read in a scan of heads; found by RecordHead.damage, as scan_records finds it.
    damages = [record.damage() for _, record in video_level.scan_record_heads(path)]
    assert damages == [None, None, expected[-1], None, None]


def test_a_gzip_file_is_read_in_full(tmp_path, good):
    path = write(tmp_path, "good.tfrecord.gz", gzip.compress(good))
    assert heads(path) == list(enumerate(RECORDS))
    assert heads(path, 2) == [(index, record[:2]) for index, record in enumerate(RECORDS)]
    cut = write(tmp_path, "cut.tfrecord.gz", gzip.compress(good[:offsets(good)[2] + 100]))
    assert heads(cut) == list(video_level.scan_records(cut)) and isinstance(heads(cut)[-1], video_level.Damage)


def test_record_writer_writes_what_tensorflow_writes(tmp_path, good):
    path = str(tmp_path / "ours.tfrecord")
    writer = video_level.record_writer(path)
    assert isinstance(writer, video_level.RecordWriter)
    for record in RECORDS:
        writer.write(record)
    writer.close()
    assert open(path, "rb").read() == good


def test_without_a_crc32c_implementation_tensorflow_writes(tmp_path, monkeypatch):
    monkeypatch.setattr(video_level, "_crc32c", None)
    assert not isinstance(video_level.record_writer(str(tmp_path / "x.tfrecord")), video_level.RecordWriter)
