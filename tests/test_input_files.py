"""Input fingerprints: what changes them and what does not."""
import os

from common.input_files import fingerprint


def write(path, content: bytes, mtime_ns: int) -> None:
    path.write_bytes(content)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_a_file_rewritten_with_its_name_size_and_time_changes_the_fingerprint(tmp_path):
    """What `cp -p`, `rsync -a` or tar leave: the same name, size and modification time."""
    first, second = tmp_path / "train0.tfrecord", tmp_path / "train1.tfrecord"
    write(first, b"original", 1_700_000_000_000_000_000)
    write(second, b"other", 1_700_000_000_000_000_000)
    files = [str(first), str(second)]
    before = fingerprint(files)
    assert fingerprint(files) == before  # reading does not change it
    write(first, b"replaced", 1_700_000_000_000_000_000)
    assert fingerprint(files) != before
    write(first, b"original", 1_700_000_000_000_000_000)
    assert fingerprint(files) == before  # the same bytes again: the cache may answer
    write(first, b"original", 1_700_000_001_000_000_000)
    assert fingerprint(files) != before  # a new time alone
    assert fingerprint(files[:1]) != fingerprint(files)

