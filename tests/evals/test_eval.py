"""`ragchat eval` end to end: the real extractive backend over the whole bundled question set.

The full run doubles as the regression gate: its thresholds sit just under what the extractive
backend measured, so a change that loses a couple of questions fails CI. Its report is kept in
tests/output/eval_full_run/ for a person to open.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from chatbot.schema import Answer
from evals.metrics import METRICS
from evals.questions import QUESTIONS as DEFAULT_QUESTIONS
from evals.questions import load_questions
from evals.report import load_last
from ragchat.cli import main
from tests.conftest import OUTPUT

# Measured on the bundled corpus and question set (59 answerable, 17 unanswerable questions),
# extractive backend with the learned chooser (chatbot/chooser.json), default settings; each sits
# about two questions under the measured value. The hand-set rules before it measured 0.780 / 0.882 /
# 0.051, but they were tuned on this very set; docs/evaluation.md has the cross-corpus figures.
MIN_CORRECTNESS = 0.69  # measured 0.746 (44/59)
MIN_REFUSAL_ACCURACY = 0.52  # measured 0.647 (11/17)
MAX_FALSE_REFUSALS = 0.06  # measured 0.034 (2/59)
MIN_CITATION_RECALL = 0.95  # measured 1.000: every extractive sentence is a verbatim, verified quote
MIN_CITATION_PRECISION = 0.95  # measured 1.000
MIN_HIT = 0.94  # measured 0.949 (56/59)
MIN_MRR = 0.85  # measured 0.863

THRESHOLDS = ["--min-correctness", MIN_CORRECTNESS, "--min-refusal-accuracy", MIN_REFUSAL_ACCURACY,
              "--max-false-refusals", MAX_FALSE_REFUSALS, "--min-citation-recall", MIN_CITATION_RECALL,
              "--min-citation-precision", MIN_CITATION_PRECISION, "--min-hit", MIN_HIT, "--min-mrr", MIN_MRR]
SHARES = [m.key for m in METRICS if not m.unit]


def _eval(settings, *args) -> Result:
    return CliRunner().invoke(main, ["eval", *map(str, args)], env={"RAGCHAT_DATA_DIR": str(settings.data_dir)})


@pytest.fixture(scope="module")
def full_run(corpus_settings):
    out = OUTPUT / "eval_full_run"
    shutil.rmtree(out, ignore_errors=True)
    result = _eval(corpus_settings, "--baseline", "--out", out, *THRESHOLDS)
    return result, out


def test_full_run_meets_the_thresholds_and_prints_both_systems(full_run):
    result, out = full_run
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[0]
    assert "ragchat (extractive)" in header and "naive baseline" in header
    for metric in METRICS:
        assert metric.label in result.stdout
    assert f"report: {out / 'report.html'}" in result.stdout


def test_results_have_one_line_per_question_with_the_full_answer_json(full_run):
    _, out = full_run
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [q.id for q in load_questions(DEFAULT_QUESTIONS)]
    for row in rows:
        assert Answer.from_json(row["answer"]).to_json() == row["answer"]  # exactly the `ask --json` contract
        assert row["answer"]["backend"] == "extractive"
        assert row["baseline"]["answer"]["backend"] == "baseline"
        assert row["scores"]["passed"] in (True, False) and row["baseline"]["scores"]["latency_ms"] > 0


def test_summary_numbers_can_be_recomputed_from_the_results(full_run):
    """The headline numbers are what the per-question answers say, not a separate computation."""
    _, out = full_run
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    questions = {q.id: q for q in load_questions(DEFAULT_QUESTIONS)}
    for system in (summary["system"], summary["baseline"]):
        for key in SHARES:
            if system is summary["baseline"] and key == "span_accuracy":
                assert system["metrics"][key] is None  # the baseline quotes a passage and marks no short answer
                continue
            assert 0.0 <= system["metrics"][key] <= 1.0, key
        assert 0 < system["metrics"]["latency_p50_ms"] <= system["metrics"]["latency_p95_ms"]

    def answered_correctly(answer: dict, must) -> bool:
        text = re.sub(r"\[\d+(?:[,;]\s*\d+)*\]", " ", answer["answer"]).casefold()
        return not answer["abstained"] and all(any(o.casefold() in " ".join(text.split()) for o in g) for g in must)

    for name, pick in (("system", lambda r: r["answer"]), ("baseline", lambda r: r["baseline"]["answer"])):
        answerable = [r for r in rows if questions[r["id"]].answerable]
        unanswerable = [r for r in rows if not questions[r["id"]].answerable]
        correct = sum(answered_correctly(pick(r), questions[r["id"]].must) for r in answerable)
        refused = sum(pick(r)["abstained"] for r in unanswerable)
        assert summary[name]["metrics"]["correctness"] == pytest.approx(correct / len(answerable))
        assert summary[name]["metrics"]["refusal_accuracy"] == pytest.approx(refused / len(unanswerable))
    assert summary["system"]["metrics"]["correctness"] > summary["baseline"]["metrics"]["correctness"]
    last = load_last(out)  # what the Evaluation page shows
    assert last.summary.to_json() == summary and last.rows == rows


def test_report_is_self_contained_and_shows_every_question_for_both_systems(full_run):
    _, out = full_run
    html = (out / "report.html").read_text(encoding="utf-8")
    for q in load_questions(DEFAULT_QUESTIONS):
        assert f'id="{q.id}"' in html
    assert "ragchat (extractive)" in html and "naive baseline" in html and "Difference" in html
    for metric in METRICS:
        assert metric.label in html
    assert html.count("<svg") >= 4  # metric bars, per-type bars, two latency histograms
    assert "<script" not in html and not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert html.count("badge pass") + html.count("badge fail") == 2 * len(load_questions(DEFAULT_QUESTIONS))


def _write(path: Path, rows: list[dict | str]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


GOOD = {"id": "a1", "question": "How many TTP attacks took place in Pakistan in 2023?", "answerable": True,
        "type": "numeric", "sources": ["000_b06fe420cd4f60ee.txt"], "must": [["789"]], "reference": ""}


@pytest.mark.parametrize("bad, field", [
    ({**GOOD, "id": "a2", "must": None}, "must"),
    ({**GOOD, "id": "a2", "answerable": "yes"}, "answerable"),
    ({k: v for k, v in GOOD.items() if k != "question"} | {"id": "a2"}, "question"),
])
def test_a_malformed_question_file_fails_with_one_line_naming_line_and_field(corpus_settings, tmp_path, bad, field):
    questions = _write(tmp_path / "mine.jsonl", [GOOD, bad])
    result = _eval(corpus_settings, "--questions", questions, "--out", tmp_path / "out")
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert "mine.jsonl:2" in message and repr(field) in message
    assert not (tmp_path / "out" / "results.jsonl").exists()  # refused before answering anything


def test_a_missed_threshold_exits_1_naming_it_and_the_report_escapes_question_text(corpus_settings, tmp_path):
    impossible = {**GOOD, "id": "a2", "question": "What did <script>alert('x')</script> say about TTP attacks in 2023?",
                  "must": [["no document says this"]]}
    questions = _write(tmp_path / "mine.jsonl", [GOOD, impossible])
    out = tmp_path / "out"
    result = _eval(corpus_settings, "--questions", questions, "--out", out,
                   "--min-correctness", 0.9, "--min-hit", 0.0, "--min-refusal-accuracy", 0.5)
    assert result.exit_code == 1, result.output
    failed = [line for line in result.stderr.splitlines() if line.startswith("threshold failed")]
    assert any("Correctness" in line and "0.9" in line for line in failed), failed
    assert any("Refusal accuracy not measured" in line for line in failed), failed  # no unanswerable questions
    assert not any("hit@k" in line for line in failed)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html and "<script>" not in html


def test_a_span_counts_when_it_holds_one_gold_answer_normalised_as_squad_does():
    from evals.keys import holds_a_key

    assert holds_a_key("the Mianwali Training Air Base,", [["Mianwali Training Air Base"]])
    assert holds_a_key("789", [["789"], ["2023"]])  # a span answers one part of a two-part key
    assert not holds_a_key("78", [["789"]]) and not holds_a_key("Air Base", [["Mianwali Air Base"]])


def test_a_gold_answer_ending_a_quoted_sentence_is_found_past_its_citation_marker():
    """SQuAD's gold strings often keep the sentence's full stop ("Joseph Broussard."); the marker
    the answer puts before it must not hide them, nor count as a number."""
    from evals.keys import has_answer_keys
    from evals.metrics import plain_text

    answer = "Beyoncé is a descendant of Acadian leader Joseph Broussard [1]. It sold 4 [2, 3] copies."
    assert has_answer_keys(plain_text(answer), [["Joseph Broussard."]])
    assert has_answer_keys(plain_text(answer), [["4 copies"]]) and not has_answer_keys(plain_text(answer), [["1"]])


def test_an_answer_key_counts_only_as_whole_words():
    """A one-letter key ("Who does M fight with?" -> "C") or "four" must not be found inside other
    words, or a wrong answer scores as correct; a hyphen or dash still separates words."""
    from evals.keys import has_answer_keys

    wrong = "Christoph Waltz returns for a fourth film."
    assert not has_answer_keys(wrong, [["C"]]) and not has_answer_keys(wrong, [["four"]])
    assert has_answer_keys("Bond fights C, the head of the service.", [["C"]])
    assert has_answer_keys("the Khitan-ruled Liao dynasty", [["the Khitan"]])
    assert has_answer_keys("the great-grandson of Altan Khan—the 4th Dalai Lama", [["great-grandson of Altan Khan"]])
    # a currency sign is not part of the figure, whichever currency: "€124.9 million" is correct
    assert has_answer_keys("The 2025 operating budget of €124.9 million is approved.", [["124.9 million"]])
    assert has_answer_keys("a budget of £8m", [["8m"]]) and has_answer_keys("a budget of $8m", [["8m"]])
