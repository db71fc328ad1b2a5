"""The HTTP API: one warm ``Library`` behind JSON endpoints, server-sent events and OpenAI's chat format.

A process that holds the embedding model, store and retriever open answers in the time the answer
takes, where a fresh ``ragchat ask`` first spends seconds loading them; and programs that already
speak OpenAI's chat completions (Open WebUI, LibreChat, every OpenAI SDK) can ask the library with
no code of ours. The endpoints only translate: arguments in, ``Answer.to_json()`` out. Answers run
in worker threads, so the event loop keeps accepting while questions are answered side by side.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, File, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.sse import EventSourceResponse, format_sse_event
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from chatbot import backends
from chatbot.schema import Answer
from chatbot.terminal import details
from ragchat.library import Library
from ragchat.net import is_loopback
from vectorstore.passages import Passage
from vectorstore.request import Turn
from vectorstore.store import DocRecord, StoreError

log = logging.getLogger("ragchat.server")

_UPLOAD_FILES = 10  # one upload request may carry this many files of the per-file size limit
_HISTORY_TURNS = 6  # older turns of a chat rarely matter to a follow-up and only slow the rewrite
_SOURCES = "\n\nSources:"  # heading of the citations block appended to a chat completion's content
_CLOSEST = "\n\nClosest passages (the documents do not answer this):"
_NOTES = "\n\nNotes:"  # an answer with nothing to cite ("nothing in the library is about this") has notes only
# A citation's line in those blocks (chatbot.terminal.details): "[1] file.txt - Title (date), chars 120-260, support 0.91"
_QUOTED = re.compile(r"^\[\d+\] (?P<where>.+), chars (?P<start>\d+)-(?P<end>\d+), support ", re.M)


class ApiError(Exception):
    """A request the server will not or cannot serve; ``message`` tells the caller what to change."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", **extra):
        super().__init__(message)
        self.status, self.message, self.kind, self.extra = status, message, kind, extra


# -- request bodies ---------------------------------------------------------------------------------

class HistoryTurn(BaseModel):
    """An earlier turn, as ``Library.turn_of`` makes it: what was asked, answered and cited."""

    model_config = ConfigDict(extra="forbid")
    question: str
    answer: str = ""
    cited_chunk_ids: list[str] = []


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt option is an error, not silently ignored
    question: str
    history: list[HistoryTurn] = []
    k: int | None = Field(None, ge=1, le=50, description="passages to retrieve (default RAGCHAT_TOP_K)")
    docs: list[str] | None = Field(None, description="only these documents (ids or file names)")
    date_from: str | None = Field(None, description="YYYY, YYYY-MM or YYYY-MM-DD, inclusive")
    date_to: str | None = None

    @field_validator("question")
    @classmethod
    def _not_blank(cls, question: str) -> str:
        if not question.strip():
            raise ValueError("empty; ask something about the documents")  # as ragchat.library words it
        return question.strip()


class AskRequest(SearchRequest):
    backend: str | None = Field(None, description=f"one of {', '.join(backends.names())} (default RAGCHAT_BACKEND)")
    stream: bool = Field(False, description="server-sent events: `piece` events, then one `answer` event")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls, ...: accepted and unused
    role: str
    content: str | list[dict] | None = None


class ChatRequest(BaseModel):
    """OpenAI's chat completion request; sampling options (temperature, max_tokens, ...) are accepted and unused."""

    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


# -- the application --------------------------------------------------------------------------------

def create_app(library: Library, *, loopback: bool = True) -> FastAPI:
    """The API over ``library``; its settings give the API key, size limits and upload rules.

    ``loopback``: the server listens on this machine only, so a request naming any other host
    came through a re-pointed domain name and is refused.
    """
    settings = library.settings
    writing = threading.Lock()  # one upload or delete at a time: each rewrites the lexical index

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await run_in_threadpool(library.warm)
        except StoreError as exc:  # keep serving: requests say 503 until the store is back
            log.error("store not available at start: %s", exc)
        yield

    app = FastAPI(title="ragchat", version="1", lifespan=lifespan,
                  description="Answers with checkable citations from your documents. See docs/api.md.")
    app.add_middleware(BodyLimit, json_limit=settings.server.request_max_kb * 1000,
                       upload_limit=settings.ingest.upload_max_mb * 1_000_000 * _UPLOAD_FILES + 64_000)
    app.add_middleware(BrowserGuard, loopback=loopback)
    _error_handlers(app)
    authorized = [Depends(_authorize(settings.server.api_key))]

    @app.get("/healthz", tags=["meta"])
    async def healthz() -> dict:
        """Whether the store answers: 200 with what it holds, or 503 with why not."""
        records = await run_in_threadpool(library.documents)
        return {"status": "ok", "documents": len(records), "chunks": sum(r.chunks for r in records)}

    @app.post("/v1/ask", tags=["answers"], dependencies=authorized)
    async def ask(body: AskRequest):
        """The ``Answer`` exactly as ``ragchat ask --json`` prints it; ``stream: true`` sends it as events."""
        _check_question(body.question, settings.server.max_question_chars)
        await _check_docs(library, body.docs)
        items = library.stream(body.question, _turns(body.history), backend=body.backend, k=body.k,
                               docs=body.docs, date_from=body.date_from, date_to=body.date_to)
        if not body.stream:
            return JSONResponse(_final(await run_in_threadpool(list, items)).to_json())
        first = await run_in_threadpool(next, items)  # errors before the first piece still get a status
        return EventSourceResponse(_ask_events(first, items), headers={"Cache-Control": "no-cache"})

    @app.post("/v1/search", tags=["answers"], dependencies=authorized)
    async def search(body: SearchRequest) -> dict:
        """The passages an answer would be written from, best first, with offsets into their documents."""
        _check_question(body.question, settings.server.max_question_chars)
        await _check_docs(library, body.docs)
        found = await run_in_threadpool(lambda: library.search(
            body.question, _turns(body.history), k=body.k, docs=body.docs, date_from=body.date_from,
            date_to=body.date_to))
        return {"question": found.question, "query": found.query, "strength": round(found.strength, 3),
                "passages": [_passage_json(p) for p in found.passages]}

    @app.get("/v1/documents", tags=["documents"], dependencies=authorized)
    async def documents() -> dict:
        return {"documents": [asdict(r) for r in await run_in_threadpool(library.documents)]}

    @app.get("/v1/documents/{doc_id}", tags=["documents"], dependencies=authorized)
    async def document(doc_id: str) -> dict:
        """One document's record and its cleaned text, which every citation's offsets point into."""
        record = await _record(library, doc_id)
        return {**asdict(record), "text": await run_in_threadpool(library.document_text, record.doc_id)}

    @app.post("/v1/documents", tags=["documents"], dependencies=authorized)
    async def upload(files: list[UploadFile] = File(..., description="files to add (same types and limits as the app)")):
        """Add files: checked, saved under a safe name and ingested as in the app; refused ones say why."""
        received = [(f.filename or "upload", await f.read()) for f in files]

        def add():
            with writing:
                return library.add_files(received)

        result = await run_in_threadpool(add)
        refused = [{"name": name, "reason": reason} for name, reason in result.refused]
        if not result.added:
            reasons = "; ".join(f"{r['name']}: {r['reason']}" for r in refused)
            raise ApiError(422, f"nothing was added ({reasons})", added=[], refused=refused)
        return {"added": result.added, "refused": refused}

    @app.delete("/v1/documents/{doc_id}", tags=["documents"], dependencies=authorized)
    async def delete(doc_id: str) -> dict:
        """Remove a document (id or file name) and its passages from the library."""
        record = await _record(library, doc_id)

        def remove() -> DocRecord:
            with writing:
                return library.delete_document(record.doc_id)

        return {"deleted": asdict(await run_in_threadpool(remove))}

    @app.get("/v1/models", tags=["openai"], dependencies=authorized)
    async def models() -> dict:
        """The answering backends, as the models an OpenAI client can pick."""
        return {"object": "list", "data": [{"id": b, "object": "model", "created": 0, "owned_by": "ragchat"}
                                           for b in backends.names()]}

    @app.post("/v1/chat/completions", tags=["openai"], dependencies=authorized)
    async def chat_completions(body: ChatRequest):
        """OpenAI-compatible: the answer with [n] markers, a Sources block, and a structured ``citations`` field."""
        if body.model not in backends.names():
            raise ApiError(400, f"unknown model {body.model!r}: the model names the answering backend, one of "
                                f"{', '.join(backends.names())}", param="model", code="model_not_found")
        question, history, quotes = _conversation(body.messages)
        _check_question(question, settings.server.max_question_chars)
        if quotes:
            cited = await run_in_threadpool(library.quoted_chunks, quotes)
            history[-1] = Turn(history[-1].question, history[-1].answer, cited)
        items = library.stream(question, history, backend=body.model)
        reply = _Completion(body.model)
        if not body.stream:
            return JSONResponse(reply.whole(_final(await run_in_threadpool(list, items))))
        first = await run_in_threadpool(next, items)
        return EventSourceResponse(reply.chunks(first, items), headers={"Cache-Control": "no-cache"})

    return app


# -- pieces the endpoints share ---------------------------------------------------------------------

def _authorize(api_key: str) -> Callable:
    """A dependency that requires ``Authorization: Bearer <api_key>`` when a key is set."""
    bearer = HTTPBearer(auto_error=False, description="RAGCHAT_API_KEY, when the server has one")

    async def check(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if api_key and (credentials is None or not secrets.compare_digest(credentials.credentials.encode(),
                                                                           api_key.encode())):
            raise ApiError(401, "missing or wrong API key: send the header `Authorization: Bearer $RAGCHAT_API_KEY`",
                           kind="authentication_error")

    return check


def _passage_json(passage: Passage) -> dict:
    """A passage as docs/api.md describes it: its text and where it lies, not what is kept for the
    chooser (the start of its line, ``line_before``, up to a thousand characters each, and whether
    it starts and ends a line)."""
    found = asdict(passage)
    for chooser_only in ("line_before", "starts_line", "ends_line"):
        del found[chooser_only]
    return found


def _check_question(question: str, limit: int) -> None:
    if len(question) > limit:
        raise ApiError(422, f"question: {len(question):,} characters is over the limit of {limit:,} "
                            "(RAGCHAT_MAX_QUESTION_CHARS)", param="question")


async def _check_docs(library: Library, docs: Sequence[str] | None) -> None:
    """A filter naming an absent document is the caller's mistake (404), told before any answering."""
    if not docs:
        return
    records = await run_in_threadpool(library.documents)
    known = {r.doc_id for r in records} | {r.source for r in records}
    unknown = [d for d in docs if d not in known]
    if unknown:
        raise ApiError(404, f"no document {', '.join(map(repr, unknown))} in the library; GET /v1/documents lists them",
                       param="docs")


async def _record(library: Library, doc_id: str) -> DocRecord:
    records = await run_in_threadpool(library.documents)
    found = next((r for r in records if doc_id in (r.doc_id, r.source)), None)
    if found is None:
        raise ApiError(404, f"no document {doc_id!r} in the library; GET /v1/documents lists them")
    return found


def _turns(history: Sequence[HistoryTurn]) -> list[Turn]:
    return [Turn(t.question, t.answer, tuple(t.cited_chunk_ids)) for t in history]


def _final(items: Sequence[str | Answer]) -> Answer:
    answer = items[-1]
    assert isinstance(answer, Answer), "Library.stream always ends with an Answer"
    return answer


async def _ask_events(first: str | Answer, rest: Iterator[str | Answer]) -> AsyncIterator[bytes]:
    """``piece`` events as text is produced, then one ``answer`` event with the checked ``Answer``."""
    async for item in _chain(first, rest):
        if isinstance(item, _Failure):
            yield _event({"error": {"message": f"answering failed: {item}", "type": "server_error"}}, "error")
        elif isinstance(item, Answer):
            yield _event(item.to_json(), "answer")
        else:
            yield _event({"text": item}, "piece")


async def _chain(first, rest: Iterator) -> AsyncIterator:
    yield first
    try:
        async for item in iterate_in_threadpool(rest):
            yield item
    except Exception as exc:  # the status line has gone out: say it in the stream, then end it
        log.exception("answer failed mid-stream")
        yield _Failure(f"{type(exc).__name__}: {exc}")


class _Failure(str):
    """An error met after streaming began; the stream writers turn it into their error event."""


def _event(data: dict | str, name: str | None = None) -> bytes:
    return format_sse_event(data_str=data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), event=name)


def _conversation(messages: Sequence[ChatMessage]) -> tuple[str, list[Turn], list[tuple[str, int, int]]]:
    """The question (the last user message), the turns before it (user and assistant pairs), and
    the quotes the last answer's Sources block names (file line, start, end).

    System messages are skipped: answers are written by ragchat's own prompt, and clients such as
    Open WebUI always send one. Our own Sources block is cut from earlier answers, so file names
    and quotes do not leak into the follow-up's search terms; what it cited is kept apart, so "Who
    wrote it?" knows what "it" is.
    """
    said = [(m.role, _text(m.content)) for m in messages if m.role in ("user", "assistant")]
    if not said or said[-1][0] != "user" or not said[-1][1].strip():
        raise ApiError(400, "messages: the last user or assistant message must be a user message with the question",
                       param="messages")
    turns: list[Turn] = []
    quotes: list[tuple[str, int, int]] = []
    for role, text in said[:-1]:
        if role == "user":
            turns.append(Turn(text.strip()))
            quotes = []
        elif turns and not turns[-1].answer:
            turns[-1] = Turn(turns[-1].question, _without_sources(text))
            quotes = [(m["where"], int(m["start"]), int(m["end"])) for m in _QUOTED.finditer(text)]
    return said[-1][1].strip(), turns[-_HISTORY_TURNS:], quotes


def _text(content: str | list[dict] | None) -> str:
    """A message's text: OpenAI clients send a string or a list of parts (only text parts count)."""
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if part.get("type") == "text")
    return content or ""


def _without_sources(text: str) -> str:
    for heading in (_SOURCES, _CLOSEST, _NOTES):
        text = text.split(heading, 1)[0]
    return text.strip()


def sources_block(answer: Answer) -> str:
    """The citations as a reader checks them: quote, file, offsets, support, plus any flags and notes."""
    if not answer.citations:
        return _NOTES + details(answer) if answer.notices else ""
    return (_CLOSEST if answer.abstained else _SOURCES) + details(answer)


class _Completion:
    """One chat completion, whole or as chunks, in the shapes OpenAI's clients parse."""

    def __init__(self, model: str):
        self.id, self.created, self.model = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), model

    def whole(self, answer: Answer) -> dict:
        message = {"role": "assistant", "content": answer.answer + sources_block(answer)}
        return {"id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "citations": [asdict(c) for c in answer.citations]}

    def chunk(self, delta: dict, finish: str | None = None, **extra) -> bytes:
        return _event({"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})

    async def chunks(self, first: str | Answer, rest: Iterator[str | Answer]) -> AsyncIterator[bytes]:
        """Text as produced; then, if checking renumbered it, the checked answer; then the sources.

        A client has already shown the streamed text and cannot take it back, so a checked answer
        that differs (an LLM's citations renumbered, unsupported sentences flagged) follows it,
        as the terminal shows it.
        """
        yield self.chunk({"role": "assistant", "content": ""})
        streamed: list[str] = []
        held = ""  # trailing whitespace, sent only if more text follows: the content ends as the whole one does
        async for item in _chain(first, rest):
            if isinstance(item, _Failure):
                yield _event({"error": {"message": f"answering failed: {item}", "type": "server_error"}})
                return
            if isinstance(item, Answer):
                tail = ""
                if "".join(streamed).strip() != item.answer.strip():
                    tail = f"\n\nChecked answer (citations renumbered):\n{item.answer}"
                yield self.chunk({"content": tail + sources_block(item)})
                yield self.chunk({}, "stop", citations=[asdict(c) for c in item.citations])
            else:
                text = (held + item).rstrip()
                held = (held + item)[len(text):]
                streamed.append(text)
                if text:
                    yield self.chunk({"content": text})
        yield _event("[DONE]")


# -- errors and limits ------------------------------------------------------------------------------

def _error(status: int, message: str, kind: str = "invalid_request_error", param: str | None = None,
           code: str | None = None, headers: dict | None = None, **extra) -> JSONResponse:
    """OpenAI's error shape, so its clients show ``message``; every endpoint answers errors this way."""
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return _error(exc.status, exc.message, exc.kind, headers=headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        broken = next((e for e in errors if e.get("type") == "json_invalid"), None)
        if broken is not None:
            reason = (broken.get("ctx") or {}).get("error", "not valid JSON")
            return _error(400, f"malformed JSON body: {reason}")
        return _error(422, "; ".join(_field_error(e) for e in errors))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(StoreError)
    async def store_down(request: Request, exc: StoreError) -> JSONResponse:
        return _error(503, str(exc), kind="store_unavailable")

    @app.exception_handler(ValueError)
    async def bad_value(request: Request, exc: ValueError) -> JSONResponse:  # an unknown backend, a bad date
        return _error(400, str(exc))

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> JSONResponse:  # Starlette still logs the traceback
        if _is_connection_error(exc):
            return _error(503, f"the store cannot be reached ({type(exc).__name__}: {exc})", kind="store_unavailable")
        return _error(500, f"internal error ({type(exc).__name__}: {exc}); the server log has the details",
                      kind="server_error")


def _field_error(error: dict) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body",)) or "body"
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message}"


def _is_connection_error(exc: BaseException) -> bool:
    """A Chroma server that went away surfaces as a connection error somewhere in the cause chain."""
    while exc is not None:
        if isinstance(exc, ConnectionError) or type(exc).__name__ in ("ConnectError", "ConnectTimeout"):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class BrowserGuard:
    """Refuse what a web page can make a browser send to a server on this machine.

    Any site can make a visitor's browser post a form (an upload) to 127.0.0.1, and a domain name
    re-pointed at 127.0.0.1 (DNS rebinding) lets its page read the answers. Browsers name the page's
    origin on such requests and the domain in ``Host``; programs (curl, SDKs) send neither, and the
    API's own /docs page is same-origin. So a foreign ``Origin``, or on a loopback server a ``Host``
    other than a loopback address or localhost, gets 403.
    """

    def __init__(self, app, loopback: bool):
        self.app, self.loopback = app, loopback

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            host = headers.get("host", "")
            origin = headers.get("origin")
            problem = ""
            if self.loopback and not is_loopback(urlsplit(f"//{host}").hostname or ""):
                problem = f"host {host!r} is not this machine: the server listens on loopback only"
            elif origin is not None and urlsplit(origin).netloc != host:
                problem = f"cross-origin request from {origin} refused"
            if problem:
                return await _error(403, problem, kind="permission_error")(scope, receive, send)
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuse a body over the limit with 413 before the endpoint reads any of it.

    A declared length over the limit is refused at once (the server enforces the declared
    length); a chunked body is read here up to the limit and handed on whole. Uploads get their
    own, larger limit (the per-file limit times ``_UPLOAD_FILES``); each file is then checked by
    ``Library.add_files`` with the app's reasons.
    """

    def __init__(self, app, json_limit: int, upload_limit: int):
        self.app, self.json_limit, self.upload_limit = app, json_limit, upload_limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            return await self.app(scope, receive, send)
        limit = self.upload_limit if scope["path"] == "/v1/documents" else self.json_limit
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit():
            if int(declared) > limit:
                return await _too_large(int(declared), limit, scope, receive, send)
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                return await _too_large(len(body), limit, scope, receive, send)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _too_large(size: int, limit: int, scope, receive, send) -> None:
    response = _error(413, f"request body of {size:,} bytes is over the limit of {limit:,} bytes for {scope['path']}")
    await response(scope, receive, send)
