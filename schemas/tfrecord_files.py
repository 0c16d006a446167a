"""TFRecord files read in Python: the fast reader of the pipeline's split files.

A split file (schemas/splits.py) is a gzip container of TFRecords; dense score rows are
stored in it without deflating. TensorFlow's reader costs about four times a plain read
of such a file; here it is read in blocks of READ_BYTES, its stored blocks copied out as
they are (other blocks inflated by `zlib`), and its TFRecord framing walked in Python:
per record an 8-byte little-endian length, the masked CRC-32C of the length, the data,
the masked CRC-32C of the data.

What is checked: every record's length and data against their checksums when a CRC-32C
implementation is installed (`video_level.crc32c_installed`; `google-crc32c` comes with
the pipeline's dependencies), else the gzip container's CRC-32 of its contents instead
(computing both would cost more than the copies); always the container's size of its
contents, its block framing, and that each record lies within the file. A damaged file
raises InvalidInputError naming the file and its first lost record, worded as
`video_level.read_records` words it.
"""
import itertools
import struct
import zlib
from typing import Iterator

import tensorflow as tf

from schemas import video_level

# Bytes read from a file at a time: blocks of this size are reused by the allocator,
# where blocks of 16 MB cost fresh pages each (twice the time of the copy itself).
READ_BYTES = 1 << 20
_HEADER = struct.Struct("<QI")  # a record's length and the masked CRC-32C of it
_DATA_CHECKSUM = struct.Struct("<I")
# gzip (RFC 1952): the magic and method bytes, flags, time, extra flags, system; the
# optional fields the flags announce; the CRC-32 and size of the contents at the end.
_GZIP_HEADER = struct.Struct("<3sB6x")
_GZIP_DEFLATE = b"\x1f\x8b\x08"
_FHCRC, _FEXTRA, _FNAME, _FCOMMENT = 2, 4, 8, 16
_GZIP_TRAILER = struct.Struct("<II")
# deflate (RFC 1951): a block's first byte holds its final bit and its type (0: stored,
# then the block's length and the length's complement, byte-aligned).
_STORED_BLOCK_HEADER = struct.Struct("<BHH")


def _open(path: str):
    # A local file through Python's own file object, which reads into its blocks directly.
    return tf.io.gfile.GFile(path, "rb") if "://" in path else open(path, "rb", buffering=0)


def _blocks(source) -> Iterator[bytes]:
    while block := source.read(READ_BYTES):
        yield block


class _Damaged(Exception):
    """The file cannot be read on from the record being read; the message says why."""


class _Stream:
    """A stream of bytes read through one buffer, filled from `pieces` as needed."""

    def __init__(self, pieces: Iterator[bytes]):
        self._pieces = pieces
        self.buffer, self.position, self.buffer_offset = b"", 0, 0

    @property
    def offset(self) -> int:
        """Where `position` is in the stream."""
        return self.buffer_offset + self.position

    def available(self, size: int) -> int:
        """The bytes from `position` in the buffer, made at least `size` where the stream has them."""
        left = len(self.buffer) - self.position
        if left >= size:
            return left
        pieces = [self.buffer[self.position:]] if left else []
        try:
            while left < size and (piece := next(self._pieces, None)) is not None:
                pieces.append(piece)
                left += len(piece)
        except zlib.error as error:
            raise _Damaged(f"not a valid gzip file ({error}): the file is damaged; copy it again") from None
        except EOFError:
            raise _Damaged(video_level.cut_short_reason(self.offset)) from None
        self.buffer_offset += self.position
        self.buffer, self.position = b"".join(pieces), 0
        return left

    def take(self, size: int) -> bytes:
        """The next `size` bytes; EOFError where the stream has fewer."""
        if self.available(size) < size:
            raise EOFError
        self.position += size
        return self.buffer[self.position - size:self.position]


def _skip_gzip_header(raw: _Stream) -> None:
    """Moves `raw` past the header of a gzip member; zlib.error where there is none."""
    magic, flags = _GZIP_HEADER.unpack(raw.take(_GZIP_HEADER.size))
    if magic != _GZIP_DEFLATE:
        raise zlib.error("incorrect header check")
    if flags & _FEXTRA:
        raw.take(int.from_bytes(raw.take(2), "little"))
    for field in (_FNAME, _FCOMMENT):
        if flags & field:
            while raw.take(1) != b"\0":
                pass
    if flags & _FHCRC:
        raw.take(2)


def _inflated_rest(raw: _Stream) -> Iterator[bytes]:
    """A member's deflate stream from its first block that is not stored on, through zlib;
    `raw` is left after the stream."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    while not inflater.eof:
        if not raw.available(1):
            raise EOFError
        data = memoryview(raw.buffer)[raw.position:]
        raw.position = len(raw.buffer)
        while data and not inflater.eof:
            yield inflater.decompress(data, READ_BYTES)
            data = inflater.unconsumed_tail
    raw.position = len(raw.buffer) - len(inflater.unused_data)


def _member_contents(raw: _Stream) -> Iterator[bytes | memoryview]:
    """The contents of a gzip member's deflate stream: its stored blocks as they are, the
    rest from the first other block on inflated (`_inflated_rest`)."""
    while True:
        if not raw.available(1):
            raise EOFError
        first_byte = raw.buffer[raw.position]
        if first_byte >> 1 & 3:
            yield from _inflated_rest(raw)
            return
        _, length, complement = _STORED_BLOCK_HEADER.unpack(raw.take(_STORED_BLOCK_HEADER.size))
        if length ^ complement != 0xFFFF:
            raise zlib.error("invalid stored block lengths")
        present = min(raw.available(length), length)  # a block cut short: its records before the cut
        yield memoryview(raw.buffer)[raw.position:raw.position + present]
        raw.position += present
        if present < length:
            raise EOFError
        if first_byte & 1:  # the final block
            return


def _gzip_contents(raw: _Stream, check_crc: bool) -> Iterator[bytes | memoryview]:
    """The contents of a gzip container, member after member, each checked against the
    size at its end (and its CRC-32 where `check_crc`); zlib.error where the container is
    damaged, EOFError where it is cut short."""
    while raw.available(1):
        _skip_gzip_header(raw)
        size = crc = 0
        for piece in _member_contents(raw):
            size += len(piece)
            if check_crc:
                crc = zlib.crc32(piece, crc)
            yield piece
        expected_crc, expected_size = _GZIP_TRAILER.unpack(raw.take(_GZIP_TRAILER.size))
        if expected_size != size & 0xFFFFFFFF or (check_crc and expected_crc != crc):
            raise zlib.error("incorrect data check")


def _checked_records(records: _Stream, path: str, checksummed: bool) -> Iterator[bytes]:
    """The records of the file, each against its checksums where `checksummed`."""
    masked_crc32c = video_level.masked_crc32c
    while left := records.available(_HEADER.size):
        if left < _HEADER.size:
            raise _Damaged(video_level.cut_tail_reason(left))
        length, length_checksum = _HEADER.unpack_from(records.buffer, records.position)
        start = records.position
        if checksummed and masked_crc32c(records.buffer[start:start + 8]) != length_checksum:  # the 8 length bytes
            reason = video_level.not_tfrecords_reason(path) if records.offset == 0 else \
                video_level.corrupted_reason(records.offset)
            raise _Damaged(reason)
        size = video_level.RECORD_FRAMING_BYTES + length
        if records.available(size) < size:
            raise _Damaged(video_level.cut_short_reason(records.offset))
        start = records.position + _HEADER.size
        data = records.buffer[start:start + length]
        if checksummed and masked_crc32c(data) != _DATA_CHECKSUM.unpack_from(records.buffer, start + length)[0]:
            raise _Damaged(video_level.corrupted_reason(records.offset))
        yield data
        records.position += size


def read_records(path: str) -> Iterator[bytes]:
    """The records of one TFRecord file (gzip by extension), streamed in order; a damaged
    file raises InvalidInputError naming the file and the first record lost."""
    checksummed = video_level.crc32c_installed()
    with _open(path) as source:
        pieces = _blocks(source)
        if video_level.compression_of(path):
            pieces = _gzip_contents(_Stream(pieces), check_crc=not checksummed)
        records_read = 0
        try:
            for record in _checked_records(_Stream(pieces), path, checksummed):
                yield record
                records_read += 1
        except _Damaged as damage:
            raise video_level.damaged(path, video_level.Damage(records_read, str(damage))) from None


def read_batches(paths: list[str], batch_size: int) -> Iterator[list[bytes]]:
    """The records of the files in order, as lists of up to `batch_size` records (a batch
    may span files, as a `tf.data` batch of the files does)."""
    records = itertools.chain.from_iterable(read_records(path) for path in paths)
    while batch := list(itertools.islice(records, batch_size)):
        yield batch
