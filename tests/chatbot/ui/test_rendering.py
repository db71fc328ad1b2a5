"""The chat app's rendering and export helpers, checked the way a reader or a program sees the output."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from chatbot.ui import rendering as ui
from tests.conftest import ROOT
from chatbot.schema import Answer, AnswerSpan, Citation, Sentence
from vectorstore.store import DocRecord

HOSTILE = 'Before. <script>alert(1)</script> see [x](http://evil) and <img src=x onerror=alert(2)> **bold** :red[hi] $x$ & done.'


class _Page(HTMLParser):
    """The tags and visible text a browser would build from an HTML fragment."""

    def __init__(self, fragment: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []
        self.marked: list[str] = []
        self._in_mark = 0
        self.feed(fragment)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_mark += tag == "mark"

    def handle_endtag(self, tag):
        self._in_mark -= tag == "mark"

    def handle_data(self, data):
        self.text.append(data)
        if self._in_mark:
            self.marked.append(data)

    @property
    def visible(self) -> str:
        return "".join(self.text)


def citation(passage: str = HOSTILE, quote: str = "<script>alert(1)</script>", **changes) -> Citation:
    offset = passage.index(quote)
    fields = dict(n=1, chunk_id="d:0000", doc_id="d", source="evil.html", title="A <b>title</b>", author="Ann [me](http://x)",
                  date="2024-01-02", quote=quote, start=1000 + offset, end=1000 + offset + len(quote), support=0.9,
                  passage=passage, passage_start=1000)
    fields.update(changes)
    return Citation(**fields)


def answer_with(*citations: Citation, sentences=(), abstained=False, text="It says so [1].", answer_span=None) -> Answer:
    return Answer(question="What does it say?", answer=text, abstained=abstained, backend="extractive",
                  citations=list(citations), sentences=list(sentences), notices=["LLM unreachable; answered extractively"],
                  answer_span=answer_span)


def test_markdown_escape_shows_scripts_and_links_literally():
    rendered = MarkdownIt("commonmark").render(ui.escape_markdown(HOSTILE))
    page = _Page(rendered)
    assert set(page.tags) <= {"p", "br"}, rendered
    assert page.visible.strip() == HOSTILE


def test_markdown_escape_keeps_line_breaks():
    page = _Page(MarkdownIt("commonmark").render(ui.escape_markdown("line one\nline two")))
    assert page.tags.count("br") == 1 and "line one" in page.visible and "line two" in page.visible


def test_passage_html_marks_the_quote_and_shows_document_markup_as_text():
    html = ui.citation_html(citation(), badge="supported")
    page = _Page(html)
    assert "script" not in page.tags and "a" not in page.tags and "img" not in page.tags and "b" not in page.tags
    assert page.marked == ["<script>alert(1)</script>"]
    assert HOSTILE in page.visible
    assert "A <b>title</b>" in page.visible and "Ann [me](http://x)" in page.visible
    assert "supported" in page.visible


def test_quote_is_found_by_text_when_offsets_disagree():
    c = citation(quote="see [x](http://evil)", start=5, end=9)
    assert _Page(ui.citation_html(c)).marked == ["see [x](http://evil)"]


@pytest.mark.parametrize("support, label", [(0.95, "supported"), (0.5, "supported"), (0.3, "weak"), (0.1, "unsupported")])
def test_support_words_follow_the_verifier_threshold(support, label):
    assert ui.support_label(support, threshold=0.5) == label
    assert f"rc-badge-{label}" in ui.citation_html(citation(support=support), badge=label)


def test_a_quote_every_citing_sentence_repeats_word_for_word_is_verbatim():
    c = citation(passage="Before. Attacks rose by 70 percent in 2024. After.", quote="Attacks rose by 70 percent in 2024.")
    assert ui.quoted_verbatim(answer_with(c, sentences=[Sentence("Attacks rose by 70 percent in 2024.", [1], True, 1.0)]), c)
    assert not ui.quoted_verbatim(answer_with(c, sentences=[Sentence("Attacks rose sharply.", [1], True, 0.8)]), c)
    assert ui.support_label(0.8, threshold=0.5, verbatim=True) == "verbatim"


def test_quoting_and_answering_are_separate_badges_and_only_answering_is_green():
    html = ui.citation_html(citation(support=1.0), badge="verbatim", answers=ui.answers_label(0.2, threshold=0.5))
    page = _Page(html)
    assert "quoted verbatim" in page.visible and "may not answer" in page.visible
    assert "answers the question" not in page.visible
    green = re.findall(r"\.rc-badge-(\w+) \{ background: #2e8540", ui.STYLE)
    assert green == ["answers"]
    assert "answers the question" in _Page(ui.citation_html(citation(), "verbatim", ui.answers_label(0.9, 0.5))).visible
    assert ui.answers_label(None, 0.5) == ""  # an LLM's sentence is not scored by the chooser


def test_the_short_answer_is_bold_in_its_sentence():
    sentences = [Sentence("A total of <789> TTP attacks took place in 2023.", [1], True, 1.0, 0.97)]
    span = AnswerSpan("<789>", 11, 16, 1, 0)
    page = _Page(ui.answer_html(answer_with(sentences=sentences, answer_span=span)))
    assert page.tags.count("strong") == 1 and "A total of <789> TTP attacks" in page.visible
    assert "strong" not in _Page(ui.answer_html(answer_with(sentences=sentences))).tags


def test_passages_under_a_refusal_get_no_badge():
    assert "rc-badge" not in ui.citation_html(citation())


def test_answer_html_shows_markers_and_flags_unverified_sentences():
    sentences = [Sentence("Attacks rose <sharply>.", [1], True, 0.9), Sentence("It was [a record](http://evil).", [2], False, 0.1)]
    page = _Page(ui.answer_html(answer_with(sentences=sentences)))
    assert "a" not in page.tags
    assert "Attacks rose <sharply>. [1]" in page.visible
    assert "It was [a record](http://evil). [2] (not verified)" in page.visible


def test_a_quoted_list_item_without_a_full_stop_is_kept_apart_from_the_next_sentence():
    sentences = [Sentence("Dr. Helena Voss, Chair of the Board", [1], True, 1.0),
                 Sentence("She opened the meeting.", [2], True, 1.0)]
    page = _Page(ui.answer_html(answer_with(sentences=sentences)))
    assert "Dr. Helena Voss, Chair of the Board [1]. She opened the meeting. [2]" in page.visible


def test_document_view_marks_the_quote_with_the_anchor_the_scroll_script_uses():
    text = "intro\n" * 50 + "the <quote> here" + "\nrest" * 50
    start = text.index("the <quote>")
    html = ui.document_html(text, start, start + len("the <quote>"))
    assert f'<mark id="{ui.QUOTE_ID}">the &lt;quote&gt;</mark>' in html
    assert ui.QUOTE_ID in ui.SCROLL_TO_QUOTE and _Page(html).visible == text


def test_a_passage_shows_its_headings_as_headings_not_as_hash_marks():
    """Ingest stores a heading as "## Attendance"; the passage and document views showed the marks."""
    text = "# Minutes\n\n## Attendance\n\n- Dr. Helena Voss, Chair of the Board\n#hashtag and # alone"
    start = text.index("Dr.")
    page = _Page(ui.highlight_html(text, start, start + len("Dr. Helena Voss, Chair of the Board")))
    assert "strong" in page.tags and page.visible.startswith("Minutes\n\nAttendance\n\n- Dr. Helena Voss")
    assert page.visible.endswith("#hashtag and # alone")  # no heading: no space after the mark, or not at a line's start


def test_exports_carry_citations_quotes_and_offsets():
    c = citation(quote="see [x](http://evil)")
    answers = [answer_with(c), answer_with(abstained=True, text="I could not find this in the documents.")]
    markdown = ui.conversation_markdown(answers, threshold=0.5)
    page = _Page(MarkdownIt("commonmark").render(markdown))
    assert "What does it say?" in page.visible
    assert f"characters {c.start}–{c.end}, supported (0.90)" in page.visible and c.quote in page.visible
    assert "Refused: I could not find this" in page.visible and "em" in page.tags
    data = json.loads(ui.conversation_json(answers))
    restored = [Answer.from_json(turn) for turn in data["turns"]]
    assert restored == answers


def test_markdown_export_shows_hostile_text_as_text_in_a_commonmark_viewer():
    """Issue 13: a quote, answer, question or title holding HTML rendered as live elements."""
    c = citation(title=HOSTILE, author="<img src=x onerror=alert(3)>")
    hostile = answer_with(c, text=f"It says {HOSTILE} [1].")
    hostile.question = f"# {HOSTILE}\n<script>alert(4)</script>"
    hostile.notices = [HOSTILE]
    rendered = MarkdownIt("commonmark").render(ui.conversation_markdown([hostile], threshold=0.5))
    page = _Page(rendered)
    assert not {"script", "img", "a", "strong"} & set(page.tags), rendered
    assert page.visible.count(HOSTILE) == 4  # question, answer, notice and title, all readable
    assert "<script>alert(1)</script>" in page.text  # the quote, a text node of its own block quote
    assert "<img src=x onerror=alert(3)>" in page.visible and "<script>alert(4)</script>" in page.visible


def test_feedback_is_appended_one_line_per_rating(tmp_path):
    path = tmp_path / "data" / "feedback.jsonl"
    a = answer_with(citation())
    ui.append_feedback(path, ui.feedback_record(a, thumbs_up=True))
    ui.append_feedback(path, ui.feedback_record(a, thumbs_up=False))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["rating"] for line in lines] == ["up", "down"]
    assert lines[0]["question"] == a.question and lines[0]["citations"][0]["quote"] == a.citations[0].quote


def _record(source: str, title: str = "", path: str = "/x", date: str = "") -> DocRecord:
    return DocRecord(doc_id=source, source=source, path=f"{path}/{source}", content_hash="h", title=title, date=date, chunks=3)


def test_examples_are_questions_the_library_can_answer():
    questions = ROOT / "evals" / "questions.jsonl"
    rows = [json.loads(line) for line in questions.read_text().splitlines() if line.strip()]
    only = _record("001_a5b27a2b9793a65e.txt")
    picked = ui.example_questions([only], questions)
    by_text = {r["question"]: r for r in rows}
    assert 1 <= len(picked) <= 5
    assert all(by_text[q]["sources"] == [only.source] and by_text[q]["type"] != "followup" for q in picked)
    assert ui.example_questions([_record("mine.txt", "Budget 2025")], questions) == ["What is “Budget 2025” about?"]


def test_collection_summary_uses_the_corpus_description():
    corpus = ROOT / "data" / "corpus"
    records = [_record(p.name, path=str(corpus), date=d) for p, d in
               zip(sorted(corpus.glob("*.txt")), ["2023-02-24", "2024-06-11", "", "", ""])]
    line = ui.collection_summary(records)
    assert line.startswith("5 documents (15 passages, dated 2023–2024): The bundled corpus") and line.endswith(")."), line
    assert ui.collection_summary([]).startswith("The library is empty")
