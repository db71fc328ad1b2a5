"""'Who wrote <title>?', 'Who published it?', 'When was it published?' are answered from what the
document says of itself, quoted and cited, not from whatever its passages on the subject mention;
a document that says nothing of itself is answered from its text."""

from __future__ import annotations

import json

import pytest

from chatbot.byline import asked
from chatbot.schema import turn_of
from ingest.pipeline import ingest
from ragchat.library import Library

BYLINED = ("Fishing Quotas in the Baltic Sea\n\nBy Maria Lindqvist\nPublished March 12, 2024\n\nThe council cut the "
           "cod quota by 40 percent in 2023. Minister Jonas Berg defended the cut before parliament, and fishermen in "
           "Gdansk protested.\n")
SECOND = ("Cod Stocks in Recovery\n\nAuthor: Piotr Nowak\n\nScientists in Gdansk counted more young cod in 2024, a year after "
          "the council cut the cod quota.\n")
NOVEL = ("The Quiet Harbour\n\nThe Quiet Harbour is a 1931 novel written by the Swedish author Elsa Brandt. It follows a "
         "fisherman's family in Gdansk through one hard winter.\n")
UNSIGNED = ("Baltic Sea Shipping Lanes\n\nShipping through the Danish straits rose in 2023. Minister Jonas Berg said "
            "new lanes would open near Gdansk.\n")


@pytest.fixture
def library(settings, tmp_path, embeddings):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "quotas.txt").write_text(BYLINED, encoding="utf-8")
    (folder / "lanes.txt").write_text(UNSIGNED, encoding="utf-8")
    (folder / "stocks.txt").write_text(SECOND, encoding="utf-8")
    (folder / "harbour.txt").write_text(NOVEL, encoding="utf-8")
    (folder / "lanes.txt.meta.json").write_text(json.dumps({"publisher": "Baltic Shipping Council"}), encoding="utf-8")
    (folder / "quotas.txt.meta.json").write_text(json.dumps({"publisher": "Baltic Fisheries Review"}), encoding="utf-8")
    ingest([folder], settings, embeddings=embeddings, progress=False)
    return Library(settings)


@pytest.mark.parametrize("question, quote, short", [
    ("Who wrote Fishing Quotas in the Baltic Sea?", "By Maria Lindqvist", "Maria Lindqvist"),
    ("Who is the author of the article on fishing quotas in the Baltic?", "By Maria Lindqvist", "Maria Lindqvist"),
    ("By whom was the report on Baltic fishing quotas written?", "By Maria Lindqvist", "Maria Lindqvist"),
    ("Who's the author of the Baltic fishing quota piece?", "By Maria Lindqvist", "Maria Lindqvist"),
    ("Can you tell me who wrote Fishing Quotas in the Baltic Sea?", "By Maria Lindqvist", "Maria Lindqvist"),
    ("When was Fishing Quotas in the Baltic Sea published?", "Published March 12, 2024", "March 12, 2024"),
])
def test_the_document_s_own_line_answers_quoted_and_cited(library, question, quote, short):
    answer = library.ask(question)
    assert not answer.abstained
    assert answer.answer_span is not None and answer.answer_span.text == short
    [citation] = answer.citations
    assert citation.source == "quotas.txt" and citation.quote == quote
    assert BYLINED[citation.start:citation.end] == quote  # offsets point at the line


def test_who_wrote_about_a_topic_names_the_author_of_each_document_on_it(library):
    answer = library.ask("Who wrote about the cod quota?")
    assert not answer.abstained and "Maria Lindqvist" in answer.answer and "Piotr Nowak" in answer.answer
    assert {c.source for c in answer.citations} == {"quotas.txt", "stocks.txt"}  # each byline cited from its own file


def test_a_value_only_the_metadata_gives_is_said_to_come_from_it_and_cites_nothing(library):
    answer = library.ask("Who published Baltic Sea Shipping Lanes?")
    assert not answer.abstained and "Baltic Shipping Council" in answer.answer and "metadata" in answer.answer
    assert not answer.citations and not answer.sentences[0].supported  # no badge claims a quote


def test_each_part_of_a_two_part_byline_question_is_answered(library):
    """"... and when was it published?": "it" is the first part's document; a line stating both is
    quoted once, and a part only the metadata answers is said to come from there."""
    answer = library.ask("Who wrote Fishing Quotas in the Baltic Sea, and when was it published?")
    assert [c.quote for c in answer.citations] == ["By Maria Lindqvist", "Published March 12, 2024"]
    assert answer.answer_span is not None and answer.answer_span.text == "Maria Lindqvist"
    both = library.ask("Who wrote Fishing Quotas in the Baltic Sea, and who published it?")  # the publisher: metadata
    assert [c.quote for c in both.citations] == ["By Maria Lindqvist"]
    assert "Baltic Fisheries Review" in both.answer and not both.sentences[-1].supported


def test_a_title_that_names_the_subject_is_answered_from_the_text(library):
    """An encyclopedia's article is titled by its subject and names no author of its own: "Who wrote
    <the article's title>?" asks who wrote the subject, and its text says so; no other document's
    byline is borrowed."""
    answer = library.ask("Who wrote The Quiet Harbour?")
    assert "Elsa Brandt" in answer.answer and "Maria Lindqvist" not in answer.answer
    assert answer.citations[0].source == "harbour.txt"


def test_a_question_about_writing_that_names_no_title_takes_the_ordinary_path(library):
    assert asked("Who wrote to parliament about the cod quota?").work == "to parliament about the cod quota"
    answer = library.ask("Who wrote to parliament about the cod quota?")  # no title holds "parliament"
    assert "Maria Lindqvist" not in answer.answer and not any("gives its author" in n for n in answer.notices)


def test_who_wrote_it_after_a_question_about_a_document_names_that_document_s_author(library):
    first = library.ask("By how much did the council cut the cod quota in 2023?")
    assert first.citations[0].source == "quotas.txt"
    follow = library.ask("Who wrote it?", history=[turn_of(first)])
    assert follow.answer_span is not None and follow.answer_span.text == "Maria Lindqvist"
    alone = library.ask("Who wrote it?")  # outside a conversation "it" names no document
    assert not any("as the documents state it" in n for n in alone.notices)


def test_who_wrote_it_of_a_document_that_names_no_author_says_so(library):
    first = library.ask("What rose through the Danish straits in 2023?")
    assert first.citations[0].source == "lanes.txt"
    follow = library.ask("Who wrote it?", history=[turn_of(first)])
    assert follow.abstained and follow.answer.startswith("The documents don't say who wrote it")
    assert "Jonas Berg" not in follow.answer  # the minister the text mentions is not its author


def test_a_byline_below_the_first_chunk_is_quoted_from_its_own_passage(settings, tmp_path, embeddings):
    """A front page long enough that the author's line falls in a later chunk: the cited passage is
    that chunk's text, holding the quoted line, not a slice of the wrong part of the document."""
    front = "".join(f"Section {n} of this report covers the harbour dredging work done in the year before.\n"
                    for n in range(1, 26))
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "dredging.txt").write_text(f"Harbour Dredging Report\n\n{front}Author: Anna Berg\n\nThe harbour was "
                                         "dredged to nine metres.\n", encoding="utf-8")
    ingest([folder], settings, embeddings=embeddings, progress=False)
    library = Library(settings)
    [citation] = library.ask("Who wrote Harbour Dredging Report?").citations
    document = library.document_text(citation.doc_id)
    assert citation.quote == "Author: Anna Berg" and document[citation.start:citation.end] == citation.quote
    assert document[citation.passage_start:citation.passage_start + len(citation.passage)] == citation.passage
