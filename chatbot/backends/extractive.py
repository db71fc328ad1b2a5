"""The default backend: no model writes anything; the answer is the chooser's own picks, verbatim."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from chatbot.backends.registry import Draft, DraftRequest, Input, register
from chatbot.chooser import Candidate
from ragchat.settings import Settings


def quoted(picks: Sequence[Candidate]) -> Draft:
    """The picked sentences as the answer, each citing the passage it was taken from."""
    return Draft([(c.span.text, [c.passage]) for c in picks])


class Extractive:
    name = "extractive"
    label = "Extractive (quotes only, always available)"
    inputs: tuple[Input, ...] = ()

    def status(self, settings: Settings) -> str:
        return "ready: answers with sentences quoted from the documents"

    def draft(self, request: DraftRequest) -> Iterator[Draft]:
        yield quoted(request.picks)

    def rewriter(self, settings: Settings) -> None:
        return None


register(Extractive())
