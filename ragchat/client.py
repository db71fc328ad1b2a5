"""Ask a running ``ragchat serve`` instead of loading the models in this process.

This is the CLI's fast path: it imports httpx and the answer's schema, never torch, Chroma or the
embedding model, so a one-shot ``ragchat ask`` costs a process start and one request while the
server's models stay warm. The stream has the shape ``Library.stream`` has: text pieces, then the
``Answer``, so the terminal shows a served answer exactly as an in-process one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

import httpx
from httpx_sse import SSEError, connect_sse

from chatbot.schema import Answer
from vectorstore.request import Turn


class ServerError(Exception):
    """The server could not be reached or refused the request; the message says what to do."""


@dataclass(frozen=True)
class Remote:
    url: str  # e.g. http://127.0.0.1:8000
    api_key: str = ""
    timeout: float = 300.0  # an LLM backend on a slow machine can take minutes

    def stream(self, question: str, history: Sequence[Turn] = (), *, backend: str | None = None,
               k: int | None = None, docs: Sequence[str] = ()) -> Iterator[str | Answer]:
        """Text pieces as the server sends them, then the checked ``Answer``."""
        body = {"question": question, "history": [asdict(t) for t in history], "backend": backend, "k": k,
                "docs": list(docs) or None, "stream": True}
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        endpoint = f"{self.url.rstrip('/')}/v1/ask"
        try:
            with httpx.Client(timeout=self.timeout) as client, \
                    connect_sse(client, "POST", endpoint, json=body, headers=headers) as events:
                if events.response.is_error:
                    events.response.read()
                    raise ServerError(_message(events.response))
                for event in events.iter_sse():
                    data = json.loads(event.data)
                    if event.event == "piece":
                        yield data["text"]
                    elif event.event == "answer":
                        yield Answer.from_json(data)
                    elif event.event == "error":
                        raise ServerError(f"the server at {self.url} failed: {data['error']['message']}")
        except (httpx.TransportError, SSEError) as exc:
            raise ServerError(f"cannot reach the ragchat server at {self.url} ({type(exc).__name__}: {exc}); "
                              "start it with `ragchat serve` or unset RAGCHAT_SERVER_URL") from None


def _message(response: httpx.Response) -> str:
    """The server's one-line error, with its status."""
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:300] or response.reason_phrase
    return f"the server answered {response.status_code}: {message}"
