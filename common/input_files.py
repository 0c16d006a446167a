"""The user's input files: glob patterns expanded, and a fingerprint of what they matched."""
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor

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
    try:
        with tf.io.gfile.GFile(path, "rb") as source:
            while chunk := source.read(READ_CHUNK_BYTES):
                digest.update(chunk)
    except tf.errors.OpError as error:
        raise InvalidInputError(f"{path}: cannot be read ({error.message})") from None
    return digest.hexdigest()


def file_identity(path: str) -> list:
    """What identifies a file's content: name, size and modification time, plus a hash of
    its bytes where a rewrite can keep all three (see STAT_IS_IDENTITY_SCHEMES)."""
    stat = tf.io.gfile.stat(path)
    identity = [path, stat.length, stat.mtime_nsec]
    if not path.startswith(STAT_IS_IDENTITY_SCHEMES):
        identity.append(content_hash(path))
    return identity


def fingerprint(files: list[str]) -> str:
    """A digest of every file's identity (file_identity): it changes whenever the bytes of
    an input file change, also when the file keeps its name, size and time."""
    with ThreadPoolExecutor(HASH_THREADS) as pool:
        identities = list(pool.map(file_identity, files))
    return hashlib.sha256(json.dumps(identities).encode()).hexdigest()
