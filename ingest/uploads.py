"""Uploaded files into the library: checked, saved under a safe name, ingested one by one.

Apart from the Streamlit script so the rules (type and size limits, names that cannot leave the
uploads folder, bad files listed with their reason and not kept, one upload never replacing
another) are tested on a real store.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from itertools import count, groupby
from pathlib import Path

from ingest.loaders import SUPPORTED
from ingest.pipeline import ingest
from ragchat.settings import Settings
from ragchat.text.display import one_line
from vectorstore.store import Store

_log = logging.getLogger(__name__)


def add_files(files: Sequence[tuple[str, bytes]], settings: Settings, store: Store | None = None,
              progress: Callable[[int, str], None] = lambda done, name: None) -> tuple[list[str], list[tuple[str, str]]]:
    """(names added, [(name, reason)] refused) for ``files`` given as (uploaded name, content).

    An added file is named as it is stored and listed ("../../up.md" is kept as "up.md"), since
    that is the name a client deletes or filters by; a refused one by the name it was sent as."""
    folder = settings.data_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    added, refused = [], []
    for done, (name, data) in enumerate(files):
        progress(done, name)
        problem = upload_problem(name, len(data), SUPPORTED, settings.ingest.upload_max_mb * 1_000_000)
        if not problem:
            path, created = _save(folder, safe_filename(name), data)
            problem = _ingest_one(path, settings, store)
            if problem and created:
                path.unlink(missing_ok=True)
        if problem:
            refused.append((name, problem))
        else:
            added.append(path.name)
    return added, refused


def forget_upload(path: str, settings: Settings) -> None:
    """Remove the saved copy of an uploaded document that was deleted from the library: the user
    asked for it to be gone, and a later ``ragchat ingest`` of the data folder must not revive it.
    Files outside the uploads folder are the user's own and are never touched."""
    folder = (settings.data_dir / "uploads").resolve()
    saved = Path(path).resolve()
    if saved.parent == folder:
        try:
            saved.unlink(missing_ok=True)
        except OSError as exc:  # the document is gone from the library either way; say what is left behind
            _log.warning("deleted from the library, but its uploaded copy %s is still on disk (%s); remove it by hand",
                         saved, exc)


def _save(folder: Path, name: str, data: bytes) -> tuple[Path, bool]:
    """Where ``data`` is kept, and whether this call created the file.

    Two different uploads can get the same safe name (``a b.txt`` and ``a!b.txt``); the second
    then gets ``a_b-2.txt`` instead of replacing the first. The same content uploaded again is
    the same file. Exclusive creation keeps two sessions saving at once from sharing a name.
    """
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    for n in count(1):
        path = folder / (name if n == 1 else f"{stem}-{n}{dot}{suffix}")
        try:
            with path.open("xb") as f:
                f.write(data)
            return path, True
        except FileExistsError:
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                return path, False


def _ingest_one(path: Path, settings: Settings, store: Store | None) -> str:
    """"" when ``path`` is in the library now, else the one-line reason it is not."""
    try:
        report = ingest([path], settings, store=store, progress=False, on_error=lambda *_: None)
    except Exception as exc:  # noqa: BLE001 - a failing upload is refused with its reason, never a crash
        return one_line(exc)
    return report.failed[0][1] if report.failed else ""


def safe_filename(name: str) -> str:
    """A name that cannot leave the uploads folder or hide: no paths, no leading dots, no controls.

    Letters, marks and digits of every script stay (an Urdu or Russian name must not collapse
    into one shared placeholder); every other run of characters becomes one ``_``.
    """
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name))[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    kept = "".join("".join(chars) if keep else "_" for keep, chars in groupby(stem, _name_char))
    stem = kept.encode()[:_NAME_BYTES].decode("utf-8", "ignore").strip("_.") or "upload"
    suffix = re.sub(r"[^A-Za-z0-9]+", "", suffix)[:10].lower()
    return f"{stem}.{suffix}" if suffix else stem


_NAME_BYTES = 150  # file systems allow 255 bytes a name; a non-Latin letter takes 2-4 of them


def _name_char(ch: str) -> bool:
    return ch in "_-" or unicodedata.category(ch)[0] in "LMN"


def upload_problem(name: str, size: int, allowed: Sequence[str], max_bytes: int) -> str:
    """Why an upload is refused before ingestion, or "" when it may go on."""
    suffix = Path(name).suffix.lower()
    if suffix not in allowed:
        return f"unsupported type {suffix or '(no extension)'}; supported: {', '.join(allowed)}"
    if size > max_bytes:
        return f"too large ({size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB)"
    if size == 0:
        return "empty file"
    return ""
