"""The user's input files: glob patterns expanded, and a fingerprint of what they matched.

Local paths are read with the standard library, so that `y8m run` checks its inputs
before it imports TensorFlow; URLs (gs://, s3://, ...) through TensorFlow's file systems.
"""
import glob
import hashlib
import json
import os

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


def fingerprint(files: list[str]) -> str:
    """Names, sizes and modification times: what changes when the input data changes."""
    stats = [(path, *_size_and_time(path)) for path in files]
    return hashlib.sha256(json.dumps(stats).encode()).hexdigest()
