"""The protobuf wire format, as far as the pipeline reads and writes records without
building protos: varints, length-delimited fields, tf.train.Features' map entries
(protobuf's encoding guide, "Message Structure"). Light: no TensorFlow import.
"""
VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5


def read_varint(data: bytes, position: int) -> tuple[int, int]:
    """(value, position after it) of the base-128 varint at `position`; ValueError when
    it runs past the end or past 10 bytes."""
    value = shift = 0
    while shift < 64:
        if position >= len(data):
            raise ValueError(f"a varint runs past the end at byte {position}")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7
    raise ValueError(f"a varint longer than 10 bytes ends at byte {position}")


def varint(value: int) -> bytes:
    """The base-128 varint of a non-negative int."""
    if value < 0:
        raise ValueError(f"a varint of a negative value ({value})")
    encoded = bytearray()
    while value >= 0x80:
        encoded.append(value & 0x7F | 0x80)
        value >>= 7
    encoded.append(value)
    return bytes(encoded)


def field_head(number: int, size: int) -> bytes:
    """The key and length that start length-delimited field `number` of `size` bytes."""
    return varint(number << 3 | LENGTH_DELIMITED) + varint(size)


def length_delimited(number: int, payload: bytes) -> bytes:
    """Field `number` of a message, holding `payload` (bytes or a serialized message)."""
    return field_head(number, len(payload)) + payload


def field_bytes(data: bytes, number: int) -> list[bytes]:
    """The bytes of each occurrence of length-delimited field `number` of a serialized
    message; the other fields are skipped unread. ValueError when the bytes are not a
    protobuf message."""
    found, position = [], 0
    while position < len(data):
        key, position = read_varint(data, position)
        if key >> 3 == 0:
            raise ValueError(f"field number 0 at byte {position}")
        wire_type = key & 7
        if wire_type == VARINT:
            _, position = read_varint(data, position)
            continue
        if wire_type == LENGTH_DELIMITED:
            length, position = read_varint(data, position)
            if key >> 3 == number and position + length <= len(data):
                found.append(data[position:position + length])
            position += length
        elif wire_type in (FIXED64, FIXED32):
            position += 8 if wire_type == FIXED64 else 4
        else:
            raise ValueError(f"wire type {wire_type} at byte {position}")
        if position > len(data):
            raise ValueError(f"a field runs past the end ({len(data)} bytes)")
    return found


def feature_entry(key: str, feature: bytes) -> bytes:
    """One entry of tf.train.Features' `feature` map (field 1: key 1, value 2)."""
    return length_delimited(1, length_delimited(1, key.encode()) + length_delimited(2, feature))
