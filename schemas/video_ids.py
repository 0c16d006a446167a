"""The video id rule: one home for what every reader of the data (VideoExampleGen,
FrameFeatures, `y8m predict`) and the submission writer accept as a video id.

A submission line is `VideoId,label score ...`: an id must not hold a comma, whitespace
or a control character, and ids are compared as text, so they must be valid UTF-8 (two
different undecodable ids would otherwise decode to the same replacement characters).
"""
import unicodedata

# What each refused character is called in the message.
_REFUSED = {",": "a comma"}


def _refused_character(video_id: str) -> tuple[str, str] | None:
    """(the first character a submission line cannot hold, its name), or None."""
    for character in video_id:
        if character in _REFUSED:
            return character, _REFUSED[character]
        if character.isspace():
            return character, "whitespace"
        if unicodedata.category(character) == "Cc":
            return character, "a control character"
    return None


def check_video_id(video_id: str) -> str:
    """`video_id`, or ValueError saying why a submission cannot hold it."""
    if not video_id:
        raise ValueError("the video id is empty")
    refused = _refused_character(video_id)
    if refused:
        character, name = refused
        raise ValueError(f"video id {video_id!r} holds {name} ({character!r}), which a submission line "
                         "(VideoId,label score ...) cannot hold")
    return video_id


def decode_video_id(raw: bytes) -> str:
    """A stored id (bytes) as text, checked; ValueError when it is not valid UTF-8 or fails
    check_video_id."""
    try:
        video_id = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"video id {raw!r} is not valid UTF-8") from None
    return check_video_id(video_id)
