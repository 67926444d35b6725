"""Attachment files, kept outside the database under a content-addressed path.

A file lives at `<attachments_dir>/<sha256[:2]>/<sha256>`: the same photo uploaded twice is
stored once, and a path can never be reused for other bytes. Files arrive in a temporary
directory on the same filesystem and are moved into place with an atomic rename, so a reader
never sees half a file. A file whose database row was rolled back stays as an orphan; it is
harmless (nothing points at it) and can be swept by comparing the tree with the table.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from app.core.config import get_settings

CHUNK = 64 * 1024
_KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}$")


def root() -> Path:
    return get_settings().attachments_dir


def incoming_dir() -> Path:
    """Where uploads are streamed before they are known to be acceptable."""
    path = root() / ".incoming"
    path.mkdir(parents=True, exist_ok=True)
    return path


def key_for(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256}"


def path_for(key: str) -> Path:
    if not _KEY.match(key):
        raise ValueError(f"not a storage key: {key!r}")
    return root() / key


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def stored_sha256(key: str) -> str | None:
    """The SHA-256 of the stored bytes as they are on disk now; None when the file is gone."""
    try:
        return sha256_of_file(path_for(key))
    except FileNotFoundError:
        return None


def store(temp_path: Path, sha256: str) -> str:
    """Move a fully written, fsynced temporary file into its place; returns the storage key."""
    key = key_for(sha256)
    final = path_for(key)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists() and sha256_of_file(final) == sha256:
        temp_path.unlink(missing_ok=True)
        return key
    # Either new, or the stored copy no longer matches its name: the fresh bytes replace it.
    os.replace(temp_path, final)
    _fsync_dir(final.parent)
    return key


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself durable; not every platform can open a directory.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
