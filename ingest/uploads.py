"""Uploaded files into the library: checked, saved under a safe name, ingested one by one.

Apart from the Streamlit script so the rules (type and size limits, names that cannot leave the
uploads folder, bad files listed with their reason and not kept) are tested on a real store.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from ingest.loaders import SUPPORTED
from ingest.pipeline import ingest
from ragchat.settings import Settings
from vectorstore.store import Store


def add_files(files: Sequence[tuple[str, bytes]], settings: Settings, store: Store | None = None,
              progress: Callable[[int, str], None] = lambda done, name: None) -> tuple[list[str], list[tuple[str, str]]]:
    """(names added, [(name, reason)] refused) for ``files`` given as (uploaded name, content)."""
    folder = settings.data_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    added, refused = [], []
    for done, (name, data) in enumerate(files):
        progress(done, name)
        problem = upload_problem(name, len(data), SUPPORTED, settings.ingest.upload_max_mb * 1_000_000)
        if not problem:
            path = folder / safe_filename(name)
            path.write_bytes(data)
            report = ingest([path], settings, store=store, progress=False, on_error=lambda *_: None)
            problem = report.failed[0][1] if report.failed else ""
            if problem:
                path.unlink(missing_ok=True)
        if problem:
            refused.append((name, problem))
        else:
            added.append(name)
    return added, refused


def safe_filename(name: str) -> str:
    """A name that cannot leave the uploads folder or hide: no paths, no leading dots, plain chars."""
    base = re.split(r"[\\/]", name)[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_.")[:80] or "upload"
    suffix = re.sub(r"[^A-Za-z0-9]+", "", suffix)[:10].lower()
    return f"{stem}.{suffix}" if suffix else stem


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
