"""`ragchat ask --json` and `ragchat chat` as a user runs them."""

from __future__ import annotations

import json

from click.testing import CliRunner

from ragchat.cli import main


def _env(settings) -> dict[str, str]:
    return {"RAGCHAT_DATA_DIR": str(settings.data_dir)}


def test_ask_json_prints_one_answer_object(corpus_settings):
    run = CliRunner().invoke(main, ["ask", "--json", "How many children were killed in the 2014 Army Public School "
                                    "attack in Peshawar?"], env=_env(corpus_settings))
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert {"question", "answer", "abstained", "backend", "citations", "sentences", "retrieved", "timings_ms"} <= set(data)
    assert "132" in data["answer"] and data["abstained"] is False and data["backend"] == "extractive"
    c = data["citations"][0]
    assert {"n", "chunk_id", "source", "title", "quote", "start", "end", "support"} <= set(c)
    assert c["quote"] in c["passage"] and 0 <= c["support"] <= 1
    assert all(isinstance(s["supported"], bool) and s["citations"] for s in data["sentences"])
    assert {"chunk_id", "source", "score"} == set(data["retrieved"][0])


def test_ask_refuses_in_json_too(corpus_settings):
    run = CliRunner().invoke(main, ["ask", "--json", "Who won the 2023 Cricket World Cup?"], env=_env(corpus_settings))
    assert run.exit_code == 0 and json.loads(run.stdout)["abstained"] is True


def test_a_refusal_in_the_terminal_names_its_passages_as_the_closest_not_as_sources(corpus_settings):
    """ "Nothing in the library is about this." followed by "[1] ..., support 0.00" read as a citation
    of the answer; the passages are the closest the library came, and they back nothing."""
    run = CliRunner().invoke(main, ["ask", "Who won the 2023 Cricket World Cup?"], env=_env(corpus_settings))
    assert run.exit_code == 0 and "Nothing in the library is about this." in run.stdout
    assert "Closest passages in the library (none of them answers the question):" in run.stdout
    assert "[1] " in run.stdout and "support" not in run.stdout


def test_ask_text_shows_the_quote_and_its_source(corpus_settings):
    run = CliRunner().invoke(main, ["ask", "What does ISPR stand for?", "--k", "4"], env=_env(corpus_settings))
    assert run.exit_code == 0
    assert "Inter-Services Public Relations" in run.stdout and ".txt" in run.stdout


def test_ask_on_an_empty_store_says_what_to_do(settings):
    run = CliRunner().invoke(main, ["ask", "anything"], env=_env(settings))
    assert run.exit_code == 2 and "ragchat ingest" in run.output


def test_ask_unknown_backend_or_document_is_an_error(corpus_settings):
    bad_backend = CliRunner().invoke(main, ["ask", "x", "--backend", "gpt9"], env=_env(corpus_settings))
    bad_doc = CliRunner().invoke(main, ["ask", "x", "--doc", "nope.txt"], env=_env(corpus_settings))
    assert bad_backend.exit_code == 2 and "unknown backend" in bad_backend.output
    assert bad_doc.exit_code == 2 and "nope.txt" in bad_doc.output


def test_ask_an_empty_question_or_for_no_passages_is_an_error_not_an_answer(corpus_settings):
    empty = CliRunner().invoke(main, ["ask", "   "], env=_env(corpus_settings))
    none = CliRunner().invoke(main, ["ask", "What does ISPR stand for?", "--k", "0"], env=_env(corpus_settings))
    assert empty.exit_code == 2 and "question: empty" in empty.output and "Nothing in the library" not in empty.output
    assert none.exit_code == 2 and "k: 0" in none.output


def test_chat_answers_a_follow_up_and_can_start_over(corpus_settings):
    lines = ["How many undocumented Afghan refugees is Pakistan sending back to Afghanistan?",
             "How many had the UN said were directed to leave so far?", "/reset", "/quit"]
    run = CliRunner().invoke(main, ["chat"], input="\n".join(lines) + "\n", env=_env(corpus_settings))
    assert run.exit_code == 0, run.output
    assert "1.7 million" in run.stdout and "327,000" in run.stdout and "conversation cleared" in run.stdout
