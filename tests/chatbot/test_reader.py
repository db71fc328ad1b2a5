"""The answer reader (a cross-encoder fine-tuned from the packaged MiniLM) tells a sentence that
answers from one that is only about the question: the difference the bi-encoder cannot see."""

from __future__ import annotations

import json

import pytest

from chatbot.reader import Reader, ReaderFile
from chatbot.resources import reader
from ragchat.settings import Settings

# Made-up facts about made-up places, so no corpus the reader or the chooser was fitted on holds them.
CASES = [
    ("When did the Varrow bridge open?",
     "The Varrow bridge opened to traffic in March 1932 after four years of work.",
     "The Varrow bridge is painted dark green and is a popular subject for photographers."),
    ("Who designed the Varrow bridge?",
     "The engineer Alma Kessler designed the Varrow bridge for the county council.",
     "The county council debated the Varrow bridge for years before approving a budget."),
    ("How many people live in Ostrel?",
     "Ostrel has a population of 48,200 according to the 2020 census.",
     "Ostrel is a market town on the eastern bank of the river Dunne."),
    ("Why was the Ostrel mine closed?",
     "The Ostrel mine was closed in 1988 because flooding made the lower galleries unsafe.",
     "The Ostrel mine employed most of the town's men for over a century."),
]


@pytest.fixture(scope="module")
def shipped() -> Reader:
    return reader(Settings().compose.reader_file)


@pytest.mark.parametrize("question, answers, about", CASES)
def test_the_sentence_that_answers_scores_above_the_one_only_about_it(shipped, question, answers, about):
    scores = shipped.scores(question, [about, answers])
    assert scores[1] > scores[0]


# The same questions with one detail swapped, as SQuAD 2.0's writers made unanswerable questions:
# the sentence that answered the original is about the new question but does not answer it.
SWAPPED = [
    ("When did the Varrow bridge open?", "When did the Kellin bridge open?",
     "The Varrow bridge opened to traffic in March 1932 after four years of work."),
    ("Who designed the Varrow bridge?", "Who designed the Varrow bridge's twin in Ostrel?",
     "The engineer Alma Kessler designed the Varrow bridge for the county council."),
    ("How many people lived in Ostrel at the 2020 census?", "How many people lived in Ostrel at the 1990 census?",
     "Ostrel has a population of 48,200 according to the 2020 census."),
]


@pytest.mark.parametrize("question, swapped, sentence", SWAPPED)
def test_a_sentence_answers_its_question_but_not_the_question_with_a_detail_swapped(shipped, question, swapped, sentence):
    """The reader scores "none of these" at 0: the answering sentence is above it, and the near miss
    at least 2 lower (odds down sevenfold). It does not put every near miss below 0 ("Who designed
    the Kellin bridge?" still scores high), which is why the policy's name checks stay."""
    answered, near = shipped.scores(question, [sentence])[0], shipped.scores(swapped, [sentence])[0]
    assert answered > 0 and near < answered - 2


def test_a_missing_weights_file_is_refused_with_the_command_that_writes_it(tmp_path):
    spec = json.loads(Settings().compose.reader_file.read_text(encoding="utf-8"))
    (tmp_path / "reader.json").write_text(json.dumps({**spec, "weights": "gone.safetensors"}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"gone\.safetensors.*python -m evals\.train_reader"):
        ReaderFile.load(tmp_path / "reader.json")


def test_the_shipped_chooser_was_fitted_with_the_shipped_reader():
    """The reader's score is one of the chooser's features: new reader weights need a refit."""
    from chatbot.resources import chooser

    settings = Settings()
    assert chooser(settings.compose.chooser_file).meta["reader"] == ReaderFile.load(settings.compose.reader_file).digest
