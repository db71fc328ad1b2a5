"""The chat app's behaviour, driven through Streamlit's AppTest against the real corpus store."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from chatbot.policy import not_in_library
from chatbot.ui import rendering as ui
from tests.conftest import ROOT

APP = str(ROOT / "chatbot" / "ui" / "app.py")
QUESTION = "How many TTP attacks took place in Pakistan in 2023?"
TITLE = "Pakistan and Afghanistan must join forces to fight rising terrorism threat"


@pytest.fixture
def app(corpus_settings, tmp_path, monkeypatch) -> AppTest:
    """The app over the shared corpus store, with its own data folder for feedback and uploads."""
    monkeypatch.setenv("RAGCHAT_STORE_DIR", str(corpus_settings.store_path))
    monkeypatch.setenv("RAGCHAT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("RAGCHAT_BACKEND", raising=False)
    return AppTest.from_file(APP, default_timeout=180).run()


def ask(app: AppTest, question: str) -> AppTest:
    app.chat_input[0].set_value(question).run()
    assert not app.exception, app.exception
    return app


def page_html(app: AppTest) -> str:
    return "\n".join(h.proto.body for h in app.get("html"))


def test_empty_chat_says_what_the_library_holds_and_offers_questions(app):
    assert not app.exception
    assert any(c.value.startswith("5 documents") for c in app.caption)
    examples = [b for b in app.button if b.key and b.key.startswith("example-")]
    assert 4 <= len(examples) <= 6
    examples[0].click().run()
    assert app.session_state.answers[0].question == examples[0].label
    assert not app.session_state.answers[0].abstained


def test_answer_shows_markers_sources_and_the_highlighted_quote(app):
    ask(app, QUESTION)
    answer = app.session_state.answers[0]
    html = page_html(app)
    assert '<span class="rc-marker">[1]</span>' in html and "789" in html
    assert TITLE in html and "rc-badge-verbatim" in html  # the quote is in the source ...
    assert "rc-badge-answers" in html and "<strong>789</strong>" in html  # ... it answers, its short answer in bold
    quote = answer.citations[0].quote
    assert f"<mark>{ui.html.escape(quote)}</mark>" in html
    assert [b.label for b in app.button if b.key and "-open-" in b.key] == ["Open in document"] * len(answer.citations)


def test_follow_up_is_answered_in_the_context_of_the_conversation(app):
    ask(app, QUESTION)
    ask(app, "Was that a record compared with earlier years?")
    first, follow_up = app.session_state.answers
    assert not follow_up.abstained
    assert "highest number since 2017" in follow_up.answer
    assert [m.name for m in app.get("chat_message")] == ["user", "assistant", "user", "assistant"]

    next(b for b in app.button if b.label == "New chat").click().run()
    assert app.session_state.answers == [] and not app.get("chat_message")


def test_refusal_is_a_notice_with_the_closest_passages_not_an_error(app):
    ask(app, "How do I cook chicken biryani?")
    assert not app.error
    assert [i.value for i in app.info] == [ui.escape_markdown(not_in_library())]
    assert any("Closest passages" in m.value for m in app.markdown)
    assert 'class="rc-passage"' in page_html(app) and 'class="rc-badge' not in page_html(app)


def test_exports_and_feedback_carry_the_citations(app, tmp_path):
    ask(app, QUESTION)
    assert [d.label for d in app.get("download_button")] == ["Export as Markdown", "Export as JSON"]
    answer = app.session_state.answers[0]
    cited = answer.citations[0]
    exported = json.loads(ui.conversation_json(app.session_state.answers))["turns"][0]
    assert exported["citations"][0]["quote"] == cited.quote
    assert (exported["citations"][0]["start"], exported["citations"][0]["end"]) == (cited.start, cited.end)
    assert f"characters {cited.start}–{cited.end}" in ui.conversation_markdown(app.session_state.answers, 0.5)

    app.get("feedback")[0].set_value(0).run()  # thumbs down
    lines = (tmp_path / "data" / "feedback.jsonl").read_text().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert (record["rating"], record["question"]) == ("down", QUESTION)
    assert record["citations"][0]["quote"] == cited.quote


def test_unreachable_llm_falls_back_with_a_caption_not_a_crash(app):
    app.selectbox[0].set_value("ollama").run()
    app.text_input[0].set_value("http://127.0.0.1:9").run()  # nothing listens on the discard port
    assert any("extractive" in c.value for c in app.sidebar.caption)
    ask(app, QUESTION)
    assert not app.error
    answer = app.session_state.answers[0]
    assert answer.backend == "extractive" and "789" in answer.answer
    assert any("ollama backend failed" in c.value for c in app.caption)


def test_evaluation_page_shows_the_last_report(corpus_settings, tmp_path, monkeypatch):
    from evals.runner import run

    questions = tmp_path / "questions.jsonl"
    bundled = (ROOT / "evals" / "questions.jsonl").read_text().splitlines()
    questions.write_text("\n".join(line for line in bundled if line.startswith(('{"id": "q003"', '{"id": "q074"'))) + "\n")
    run(corpus_settings, questions, tmp_path / "data" / "eval")
    monkeypatch.setenv("RAGCHAT_STORE_DIR", str(corpus_settings.store_path))
    monkeypatch.setenv("RAGCHAT_DATA_DIR", str(tmp_path / "data"))

    page = AppTest.from_file(APP, default_timeout=60).switch_page("pages/evaluation.py").run()
    assert not page.exception, page.exception
    metrics, per_question = (d.value for d in page.dataframe)
    assert "Correctness" in list(metrics["Metric"])
    assert list(per_question["Id"]) == ["q003", "q074"]
    assert list(per_question["Passed"]) == [True, True]
    assert "789" in per_question["Answer"][0] and "000_b06fe420cd4f60ee.txt" in per_question["Citations"][0]
    assert [b.label for b in page.button] == ["Run the benchmark"]
