"""The user's input files: glob patterns expanded, and a fingerprint of what they matched.

Local paths are read with the standard library, so that `y8m run` checks its inputs
before it imports TensorFlow; URLs (gs://, s3://, ...) through TensorFlow's file systems.
"""
import glob
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor

from common.errors import InvalidInputError


def _is_url(path: str) -> bool:
    return "://" in path


def _gfile():
    """TensorFlow's file systems, imported on first use (see the module's docstring)."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    return tf.io.gfile


def _glob(pattern: str) -> list[str]:
    return _gfile().glob(pattern) if _is_url(pattern) else glob.glob(pattern)


def _is_directory(path: str) -> bool:
    return _gfile().isdir(path) if _is_url(path) else os.path.isdir(path)


def _size_and_time(path: str) -> tuple[int, int]:
    """(bytes, modification time in nanoseconds)."""
    if _is_url(path):
        stat = _gfile().stat(path)
        return stat.length, stat.mtime_nsec
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


def expand_patterns(patterns: list[str], role: str) -> list[str]:
    """Every file matched by the glob patterns, sorted; a pattern matching nothing, or
    matching a directory, is an error."""
    if not patterns:
        raise InvalidInputError(f"no {role} files given")
    files = []
    for pattern in patterns:
        matched = sorted(_glob(pattern))
        if not matched:
            raise InvalidInputError(f"{role} pattern '{pattern}' matches no file")
        directories = [path for path in matched if _is_directory(path)]
        if directories:
            example = directories[0].rstrip("/")
            raise InvalidInputError(f"{role} pattern '{pattern}' matches the directory {example}; "
                                    f"give its files, e.g. '{example}/*.tfrecord'")
        files.extend(matched)
    return sorted(set(files))


# Files on these file systems cannot be rewritten without a new modification time: an
# object store sets an object's time (GCS `updated`) on every write, and no client sets it
# back. Elsewhere (local disks, mounted volumes), `cp -p`, `rsync -a` and tar restore it.
STAT_IS_IDENTITY_SCHEMES = ("gs://", "s3://")
READ_CHUNK_BYTES = 1 << 20
# hashlib releases the GIL on large buffers: files are hashed side by side.
HASH_THREADS = 8


def content_hash(path: str) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    if _is_url(path):
        import tensorflow as tf  # pylint: disable=import-outside-toplevel
        open_file, read_errors = (lambda: tf.io.gfile.GFile(path, "rb")), tf.errors.OpError
    else:
        open_file, read_errors = (lambda: open(path, "rb")), OSError
    try:
        with open_file() as source:
            while chunk := source.read(READ_CHUNK_BYTES):
                digest.update(chunk)
    except read_errors as error:
        reason = getattr(error, "message", None) or getattr(error, "strerror", None) or error
        raise InvalidInputError(f"{path}: cannot be read ({reason})") from None
    return digest.hexdigest()


def file_identity(path: str) -> list:
    """What identifies a file's content: name, size and modification time, plus a hash of
    its bytes where a rewrite can keep all three (see STAT_IS_IDENTITY_SCHEMES)."""
    identity = [path, *_size_and_time(path)]
    if not path.startswith(STAT_IS_IDENTITY_SCHEMES):
        identity.append(content_hash(path))
    return identity


def fingerprint(files: list[str]) -> str:
    """A digest of every file's identity (file_identity): it changes whenever the bytes of
    an input file change, also when the file keeps its name, size and time."""
    with ThreadPoolExecutor(HASH_THREADS) as pool:
        identities = list(pool.map(file_identity, files))
    return hashlib.sha256(json.dumps(identities).encode()).hexdigest()
