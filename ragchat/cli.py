"""The ``ragchat`` command: a thin shell over the library, one small function per subcommand."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click

from ragchat.settings import Settings


def _settings() -> Settings:
    return Settings.from_env()


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Ask questions about your documents and get answers with checkable citations."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--reset", is_flag=True, help="Delete the whole store first and rebuild it.")
@click.option("--prune", is_flag=True, help="Delete documents that were ingested from these folders and are gone.")
@click.option("--strict", is_flag=True, help="Exit non-zero if any file was skipped.")
def ingest(paths: tuple[Path, ...], reset: bool, prune: bool, strict: bool) -> None:
    """Add files and folders (recursively) to the store; only changed files are embedded."""
    from ingest.pipeline import ingest as run_ingest
    from vectorstore.store import StoreError

    settings = _settings()
    try:
        report = run_ingest(paths, settings, reset=reset, prune=prune)
    except StoreError as exc:
        _fail(str(exc))
    click.echo(report.summary(), err=True)
    if report.ingested == 0 or (strict and report.failed):
        sys.exit(1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(as_json: bool) -> None:
    """What the store holds: documents, chunks, embedding model, location."""
    from vectorstore.store import Store

    settings = _settings()
    store = Store(settings)
    docs = sorted(store.documents().values(), key=lambda d: d.source)
    info = {"location": settings.location, "embedding_model": store.model_info().get("embedding_model", settings.embedding_model),
            "embedding_dim": store.model_info().get("embedding_dim"), "chunks": store.count(),
            "documents": [asdict(d) for d in docs]}
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"store: {info['location']}\nmodel: {info['embedding_model']} ({info['embedding_dim'] or '?'}-d)\n"
               f"{len(docs)} documents, {info['chunks']} chunks")
    for d in docs:
        click.echo(f"  {d.source}  {d.chunks:>4} chunks  {d.date or '':10}  {d.title}")
    if not docs:
        click.echo("empty: add documents with `ragchat ingest PATH`")


@main.command()
@click.argument("question")
@click.option("--k", type=int, default=None, help="How many passages to show.")
def ask(question: str, k: int | None) -> None:
    """Print the passages that best match QUESTION, with their sources."""
    from vectorstore.embeddings import LocalEmbeddings
    from vectorstore.store import Store

    settings = _settings()
    store = Store(settings)
    if store.count() == 0:
        _fail(f"the store at {settings.location} is empty: run `ragchat ingest PATH` first")
    vector = LocalEmbeddings(settings.embedding_model).embed_query(question)
    for n, (chunk, score) in enumerate(store.dense_search(vector, k or settings.top_k), 1):
        click.echo(f"[{n}] {chunk.title or chunk.source} ({chunk.source}, chars {chunk.start}-{chunk.end}, score {score:.2f})")
        click.echo(f"    {chunk.text}\n")


if __name__ == "__main__":
    main()
