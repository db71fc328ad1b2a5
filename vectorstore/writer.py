"""One writer per store at a time: an OS file lock held for a whole ingest or delete.

An ingest ends by sweeping chunks whose document has no record (what a killed run left). Another
writer's in-flight document looks exactly like that between its chunks and its record, so two
writers at once (two browser tabs uploading, the app while a CLI ingest runs) would delete each
other's work. Serialising writers makes every sweep safe; readers take no lock and keep answering.

``filelock`` (already installed with the Hugging Face hub the embedder needs; tox-dev keeps it) wraps
``fcntl.flock``: the kernel drops the lock when its holder dies, so a killed ingest never leaves the
store locked, and the lock file itself is left in place (unlinking it would split waiters across
two files). The lock covers writers on this machine; writers on other machines sharing one Chroma
server are not serialised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from ragchat.settings import Settings


def lock_path(settings: Settings) -> Path:
    """Beside the store (embedded), or under the data folder for a Chroma server, per collection."""
    store = settings.store
    if store.chroma_host:
        return store.data_dir / "locks" / f"{store.chroma_host}_{store.chroma_port}_{store.collection}.lock"
    return store.store_path / f"{store.collection}.writer.lock"


@contextmanager
def writing(settings: Settings, on_wait: Callable[[], None]) -> Iterator[None]:
    """Hold the store's writer lock for the ``with`` block; ``on_wait()`` once if another holds it."""
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        on_wait()
        lock.acquire()
    try:
        yield
    finally:
        lock.release()
