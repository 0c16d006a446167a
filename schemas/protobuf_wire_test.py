import pytest

from schemas import protobuf_wire as wire


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2 ** 35 + 7, 2 ** 64 - 1])
def test_a_varint_reads_back_as_written(value):
    encoded = wire.varint(value)
    assert wire.read_varint(b"\x00" + encoded + b"\x01", 1) == (value, 1 + len(encoded))


def test_varints_past_the_end_or_of_negative_values_are_refused():
    with pytest.raises(ValueError, match="past the end"):
        wire.read_varint(wire.varint(300)[:1], 0)
    with pytest.raises(ValueError, match="longer than 10 bytes"):
        wire.read_varint(b"\xff" * 11, 0)
    with pytest.raises(ValueError, match="negative"):
        wire.varint(-1)


def test_fields_are_found_by_number_and_the_others_skipped():
    message = (wire.length_delimited(1, b"first") + wire.varint(2 << 3 | wire.VARINT) + wire.varint(300)
               + wire.length_delimited(3, b"other") + wire.length_delimited(1, b"again"))
    assert wire.field_bytes(message, 1) == [b"first", b"again"]
    assert wire.field_head(1, 5) + b"first" == wire.length_delimited(1, b"first")
