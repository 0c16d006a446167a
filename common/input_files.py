"""The user's input files: glob patterns expanded, and a fingerprint of what they matched."""
import hashlib
import json

import tensorflow as tf

from common.errors import InvalidInputError


def expand_patterns(patterns: list[str], role: str) -> list[str]:
    """Every file matched by the glob patterns, sorted; a pattern matching nothing, or
    matching a directory, is an error."""
    if not patterns:
        raise InvalidInputError(f"no {role} files given")
    files = []
    for pattern in patterns:
        matched = sorted(tf.io.gfile.glob(pattern))
        if not matched:
            raise InvalidInputError(f"{role} pattern '{pattern}' matches no file")
        directories = [path for path in matched if tf.io.gfile.isdir(path)]
        if directories:
            example = directories[0].rstrip("/")
            raise InvalidInputError(f"{role} pattern '{pattern}' matches the directory {example}; "
                                    f"give its files, e.g. '{example}/*.tfrecord'")
        files.extend(matched)
    return sorted(set(files))


def fingerprint(files: list[str]) -> str:
    """Names, sizes and modification times: what changes when the input data changes."""
    stats = [(path, tf.io.gfile.stat(path).length, tf.io.gfile.stat(path).mtime_nsec) for path in files]
    return hashlib.sha256(json.dumps(stats).encode()).hexdigest()
