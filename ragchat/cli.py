"""The ``ragchat`` command: a thin shell over the library, one small function per subcommand."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click

from ragchat.settings import Settings
from ragchat.text.display import printable


def _settings() -> Settings:
    return Settings.from_env()


def _fail(message: str) -> None:
    click.echo(f"error: {printable(message)}", err=True)
    sys.exit(2)


class _Commands(click.Group):
    """Every subcommand ends a store problem (an unreachable Chroma server, a model mismatch) with
    its one-line message, wherever it surfaces (opening the store, mid-answer, mid-ingest)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Exception as exc:
            store = sys.modules.get("vectorstore.store")  # loaded by whatever touched the store; never here
            if store is not None and isinstance(exc, store.StoreError):
                _fail(str(exc))
            raise


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Ask questions about your documents and get answers with checkable citations."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--reset", is_flag=True, help="Delete the whole store first and rebuild it.")
@click.option("--prune", is_flag=True, help="Delete documents that were ingested from these folders and are gone.")
@click.option("--strict", is_flag=True, help="Exit non-zero if any file could not be read (hidden files and links do not count).")
@click.option("--follow-links", is_flag=True, help="Follow links that lead out of the given folders.")
def ingest(paths: tuple[Path, ...], reset: bool, prune: bool, strict: bool, follow_links: bool) -> None:
    """Add files and folders (recursively) to the store; only changed files are embedded.

    Hidden files and folders are skipped, and so are links out of the given folders unless
    --follow-links is given; each skip is one line.
    """
    from ingest.pipeline import ingest as run_ingest
    from ingest.wordpieces import TokenizerNotFound
    from vectorstore.embeddings import ModelNotFound

    settings = _settings()
    try:
        report = run_ingest(paths, settings, reset=reset, prune=prune, follow_links=follow_links)
    except (ModelNotFound, TokenizerNotFound) as exc:
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
    # looking must not create: an embedded store that is not there yet is reported empty, not made
    store = Store(settings) if settings.store.chroma_host or settings.store.store_path.exists() else None
    docs = sorted(store.documents().values(), key=lambda d: d.source) if store else []
    model = store.model_info() if store else {}
    info = {"location": settings.location,
            "embedding_model": model.get("embedding_model", settings.store.embedding_model),
            "embedding_dim": model.get("embedding_dim"), "chunks": store.count() if store else 0,
            "documents": [asdict(d) for d in docs]}
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    dim = f" ({info['embedding_dim']}-d)" if info["embedding_dim"] else ""  # none until the first ingest
    click.echo(f"store: {info['location']}\nmodel: {info['embedding_model']}{dim}\n"
               f"{len(docs)} documents, {info['chunks']} chunks")
    width = max((len(d.source) for d in docs), default=0)
    for d in docs:
        click.echo(printable(f"  {d.source:<{width}}  {d.chunks:>4} chunks  {d.date or '':10}  {d.title}"))
    if not docs:
        click.echo("empty: add documents with `ragchat ingest PATH`")


class _BackendOption(click.Option):
    """``--backend``, whose help lists the registered backends, read only when help is shown: importing
    the registry loads the answering engine, which a CLI asking a running server must not pay for."""

    def get_help_record(self, ctx: click.Context):
        from chatbot import backends

        self.help = f"Who writes the answer: {', '.join(backends.names())} (default: RAGCHAT_BACKEND or extractive)."
        return super().get_help_record(ctx)


def _backend_option(command):
    return click.option("--backend", default=None, cls=_BackendOption)(command)


def _answer_options(command):
    """Options ``ask`` and ``chat`` share: which backend, how many passages, which documents."""
    command = click.option("--doc", "docs", multiple=True, help="Only search this document (file name or id); repeatable.")(command)
    command = click.option("--k", type=int, default=None, help="Passages to retrieve (default: RAGCHAT_TOP_K).")(command)
    return _backend_option(command)


def _asker(settings: Settings, backend: str | None, k: int | None, docs: tuple[str, ...]):
    from ragchat.library import Library

    library = Library(settings)
    if library.store.count() == 0:
        _fail(f"the store at {settings.location} is empty: run `ragchat ingest PATH` first")
    return lambda question, history=(): library.stream(question, history, backend=backend, k=k, docs=docs)


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the Answer) instead of text.")
@_answer_options
def ask(question: str, as_json: bool, backend: str | None, k: int | None, docs: tuple[str, ...]) -> None:
    """Answer QUESTION from the documents, with [n] citations to checkable quotes."""
    if _settings().server.server_url:
        return _ask_server(question, as_json, backend, k, docs)
    from chatbot.schema import Answer
    from chatbot.terminal import show

    ask_ = _asker(_settings(), backend, k, docs)
    try:
        if as_json:
            result = [item for item in ask_(question) if isinstance(item, Answer)][-1]
            click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
        else:
            show(ask_(question), click.echo)
    except ValueError as exc:
        _fail(str(exc))


def _read_line(prompt: str) -> str:
    try:
        return click.prompt(prompt, prompt_suffix="", default="", show_default=False)
    except click.Abort:  # end of input or Ctrl-C: leave the conversation quietly
        raise EOFError from None


@main.command()
@_answer_options
def chat(backend: str | None, k: int | None, docs: tuple[str, ...]) -> None:
    """A conversation in the terminal; follow-up questions use the turns before them."""
    if _settings().server.server_url:
        return _chat_server(backend, k, docs)
    from chatbot.terminal import chat as run_chat

    settings = _settings()
    ask_ = _asker(settings, backend, k, docs)
    try:
        run_chat(ask_, _read_line, click.echo, settings.answer.history_turns)
    except ValueError as exc:
        _fail(str(exc))


_EVAL_MINIMUMS = {"min_correctness": "correctness", "min_refusal_accuracy": "refusal_accuracy",
                  "min_citation_recall": "citation_recall", "min_citation_precision": "citation_precision",
                  "min_hit": "hit_at_k", "min_mrr": "mrr"}


def _metric_text(value: float, unit: str, signed: bool = False) -> str:
    sign = "+" if signed else ""
    return f"{value:{sign},.0f} ms" if unit else f"{value:{sign}.3f}"


@main.command("eval")
@click.option("--questions", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="JSONL question file (format: docs/evaluation.md); default: the bundled set.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("evals/out"), show_default=True,
              help="Folder for results.jsonl, summary.json and report.html.")
@_backend_option
@click.option("--baseline", is_flag=True, help="Also run the naive LangChain-tutorial pipeline, side by side.")
@click.option("--k", type=int, default=None, help="Passages retrieved per question (default: RAGCHAT_TOP_K).")
@click.option("--min-correctness", type=float, help="Exit 1 if correctness is below this.")
@click.option("--min-refusal-accuracy", type=float, help="Exit 1 if refusal accuracy is below this.")
@click.option("--max-false-refusals", type=float, help="Exit 1 if the false-refusal rate is above this.")
@click.option("--min-citation-recall", type=float, help="Exit 1 if citation recall is below this.")
@click.option("--min-citation-precision", type=float, help="Exit 1 if citation precision is below this.")
@click.option("--min-hit", type=float, help="Exit 1 if gold-document hit@k is below this.")
@click.option("--min-mrr", type=float, help="Exit 1 if MRR is below this.")
def eval_(questions: Path | None, out: Path, backend: str | None, baseline: bool, k: int | None,
          max_false_refusals: float | None, **minimums: float | None) -> None:
    """Score answers, citations and retrieval on a question set and write an HTML report."""
    from tqdm import tqdm

    from evals.metrics import METRICS
    from evals.questions import QUESTIONS, load_questions
    from evals.runner import run

    from vectorstore.store import Store

    settings = _settings()
    questions = questions or QUESTIONS
    if Store(settings).count() == 0:
        _fail(f"the store at {settings.location} is empty: run `ragchat ingest PATH` with the documents the questions are about")
    try:  # a malformed file is reported before the progress bar and the first answer
        total = len(load_questions(questions))
        with tqdm(total=total, unit="question", desc="eval", file=sys.stderr) as bar:
            summary = run(settings, questions, out, backend=backend, baseline=baseline, k=k,
                          progress=lambda done, _: bar.update(done - bar.n))
    except ValueError as exc:  # a malformed question file or an unknown backend: the message says which
        _fail(str(exc))
    systems = [summary.system] + ([summary.baseline] if summary.baseline else [])
    click.echo(f"{'metric':<22}" + "".join(f"{s.name:>24}" for s in systems) + ("  difference" if summary.baseline else ""))
    for m in METRICS:
        values = [s.metrics.get(m.key) for s in systems]
        line = f"{m.label:<22}" + "".join(f"{'n/a' if v is None else _metric_text(v, m.unit):>24}" for v in values)
        if len(values) == 2 and None not in values:
            line += f"{_metric_text(values[0] - values[1], m.unit, signed=True):>12}"
        click.echo(line)
    kinds = summary.system.pass_rate_by_answer_kind
    click.echo("pass rate by answer kind: " + ", ".join(f"{kind} {rate:.2f}" for kind, rate in kinds.items()))
    click.echo(f"report: {out / 'report.html'}")
    failures = summary.failures({_EVAL_MINIMUMS[name]: v for name, v in minimums.items() if v is not None},
                                {"false_refusals": max_false_refusals} if max_false_refusals is not None else {})
    for failure in failures:
        click.echo(f"threshold failed: {failure}", err=True)
    if failures:
        sys.exit(1)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on; beyond loopback needs --no-auth.")
@click.option("--port", type=int, default=8501, show_default=True, help="Port to serve the chat app on.")
@click.option("--no-auth", is_flag=True, help="Allow a non-loopback --host: the app has no login, anyone who reaches it can read and add documents.")
def ui(host: str, port: int, no_auth: bool) -> None:
    """Serve the chat app (Streamlit) over the store the settings point at; open the printed URL."""
    import os

    from chatbot import ui as ui_package

    _check_exposure(host, "", no_auth, "the chat app has no login, so RAGCHAT_API_KEY cannot protect it")
    app = Path(ui_package.__file__).resolve().parent / "app.py"
    # exec, not a child process: Ctrl-C and a test's terminate() then reach Streamlit itself.
    os.execv(sys.executable, [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
                              "--browser.gatherUsageStats", "false", "--server.address", host, "--server.port", str(port),
                              "--client.showSidebarNavigation", "false", "--client.toolbarMode", "viewer"])


# -- serving: the HTTP API, the MCP server, and ask/chat as clients of a running server ---------------

def _check_exposure(host: str, api_key: str, no_auth: bool, unprotected: str = "") -> None:
    """Listening beyond this machine needs a key or an explicit, warned ``--no-auth``."""
    from ragchat.net import is_loopback

    if is_loopback(host) or (api_key and not unprotected):
        return
    if no_auth:
        click.echo(f"warning: listening on {host} without authentication: anyone who can reach this port can read "
                   "the library and add or delete documents", err=True)
        return
    need = f"{unprotected}; " if unprotected else "set RAGCHAT_API_KEY (clients send it as a bearer token) or "
    _fail(f"refusing to listen on {host} (beyond this machine): {need}pass --no-auth to expose it anyway")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; beyond loopback needs RAGCHAT_API_KEY or --no-auth.")
@click.option("--port", type=int, default=8000, show_default=True, help="Port to listen on.")
@click.option("--no-auth", is_flag=True, help="Allow a non-loopback --host without RAGCHAT_API_KEY.")
def serve(host: str, port: int, no_auth: bool) -> None:
    """Serve the library over HTTP: JSON API, OpenAI-compatible chat completions; docs at /docs."""
    settings = _settings()
    _check_exposure(host, settings.server.api_key, no_auth)
    import uvicorn

    from ragchat.library import Library
    from ragchat.net import is_loopback
    from ragchat.server import create_app

    key = "bearer key required" if settings.server.api_key else "no key"
    click.echo(f"ragchat: serving {settings.location} at http://{host}:{port} ({key}; API docs at /docs)", err=True)
    uvicorn.run(create_app(Library(settings), loopback=is_loopback(host)), host=host, port=port, log_level="info")


@main.command("mcp")
def mcp_() -> None:
    """Serve the library to MCP clients (desktop assistants) over stdio: search, ask, list_documents."""
    from ragchat.mcp_server import run

    run(_settings())


def _remote():
    from ragchat.client import Remote

    settings = _settings()
    click.echo(f"ragchat: asking the server at {settings.server.server_url} (RAGCHAT_SERVER_URL)", err=True)
    return Remote(settings.server.server_url, settings.server.api_key)


def _ask_server(question: str, as_json: bool, backend: str | None, k: int | None, docs: tuple[str, ...]) -> None:
    """``ask`` through a running server: nothing heavy is imported here."""
    from chatbot.schema import Answer
    from chatbot.terminal import show
    from ragchat.client import ServerError

    stream = _remote().stream(question, backend=backend, k=k, docs=docs)
    try:
        if as_json:
            result = [item for item in stream if isinstance(item, Answer)][-1]
            click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
        else:
            show(stream, click.echo)
    except ServerError as exc:
        _fail(str(exc))


def _chat_server(backend: str | None, k: int | None, docs: tuple[str, ...]) -> None:
    from chatbot.terminal import chat as run_chat
    from ragchat.client import ServerError

    remote = _remote()
    try:
        run_chat(lambda question, history=(): remote.stream(question, history, backend=backend, k=k, docs=docs),
                 _read_line, click.echo, _settings().answer.history_turns)
    except ServerError as exc:
        _fail(str(exc))


if __name__ == "__main__":
    main()
