"""The one video id rule, as every reader and the submission writer apply it."""
import pytest

from schemas.video_ids import check_video_id, decode_video_id


@pytest.mark.parametrize("raw, expected", [
    (b"ab,c", "video id 'ab,c' holds a comma (',')"),
    (b"ab c", "video id 'ab c' holds whitespace (' ')"),
    (b"ab\nc", "video id 'ab\\nc' holds whitespace ('\\n')"),
    (b"ab\x07c", "video id 'ab\\x07c' holds a control character ('\\x07')"),
    ("ab\u00a0c".encode(), "video id 'ab\\xa0c' holds whitespace"),
    (b"ab\xffc", "video id b'ab\\xffc' is not valid UTF-8"),
])
def test_an_id_a_submission_cannot_hold_is_refused(raw, expected):
    with pytest.raises(ValueError) as error:
        decode_video_id(raw)
    assert str(error.value).startswith(expected)


def test_a_plain_or_non_ascii_id_passes():
    assert decode_video_id(b"Ab9z") == "Ab9z"
    assert decode_video_id("vidéo-1_x".encode()) == "vidéo-1_x"
    with pytest.raises(ValueError, match="empty"):
        check_video_id("")
