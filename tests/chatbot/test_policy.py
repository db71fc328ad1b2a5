"""Refusing on a fact no document mentions (said of the whole library, looked up in the lexical index,
and kept true as the library changes), and telling a near miss from an answer in other words."""

from __future__ import annotations

import pytest

from chatbot.policy import unanswered_part, unnamed_in
from chatbot.question import analyse
from ingest.pipeline import ingest
from ragchat.library import Library

QUESTION = "How many terrorist attacks did Pakistan record in 2025?"  # the bundled documents stop at 2024


def test_never_mentioned_is_said_only_while_no_document_mentions_it(settings, corpus_copy, embeddings):
    ingest([corpus_copy], settings, embeddings=embeddings, progress=False)
    library = Library(settings)
    assert "refused: the documents never mention 2025" in library.ask(QUESTION).notices

    # One document that names 2025 in passing: the fact is no longer absent from the library, so that
    # reason is not given any more (the same open library sees the ingest through the index).
    (corpus_copy / "zz_calendar.txt").write_text(
        "Planning calendar\n\nThe ministry said its next planning cycle starts in the spring of 2025.\n", encoding="utf-8")
    ingest([corpus_copy], settings, embeddings=embeddings, progress=False)
    notices = library.ask(QUESTION).notices
    assert not any("never mention" in n for n in notices), notices


@pytest.mark.parametrize("question", [
    "When did Tina Arnaud found Maison Dereon?",  # typed without the accent: "Deréon"
    "When did Tina Arnoud found Maison Dereon?",  # and a name one letter off: "Arnaud"
])
def test_a_name_typed_as_users_type_it_is_the_same_name(settings, tmp_path, embeddings, question):
    """The library mentions the label and its designer, so how the user spells them is no reason to refuse."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "label.txt").write_text(
        "Maison Deréon\n\nMaison Deréon is a clothing label. The designer Tina Arnaud founded Maison Deréon in 2005 "
        "in Houston. Its first collection sold in department stores across Texas.\n", encoding="utf-8")
    ingest([folder], settings, embeddings=embeddings, progress=False)
    answer = Library(settings).ask(question)
    assert not any("mention" in n for n in answer.notices), answer.notices
    assert not answer.abstained and "2005" in answer.answer


@pytest.mark.parametrize("question, sentence, reason", [
    ("What is the population of Kabul?", "A significant Afghan population lives in Pakistan.", "no sentence gives a figure"),
    # the question's own figures are not an answer's
    ("How many people died in the October 2023 earthquake?", "In October 2023 an earthquake struck Herat.",
     "no sentence gives a figure"),
    ("How many TTP fighters are in Afghanistan?", "Daesh-K has close to 4,000 fighters there.",
     'no sentence counts "TTP fighters"'),
    # answers worded otherwise than the question are answers
    ("How many school children died?", "Thousands of school children died due to shoddy construction.", ""),
    ("How many New Yorkers work in food processing?", "Food processing employs more than 19,000 residents.", ""),
    ("What is the street address of the FDNY headquarters?", "The FDNY headquarters is at 9 MetroTech Center.", ""),
    ("What is the total number of dams damaged?", "In total, 391 dams were reported damaged.", ""),
    # a figure filed under the word before it, an ordinal included; a date is two figures, not their sum
    ("The crew of which film numbered over three thousand?", "The crew of Vortex numbered over one thousand, a record.",
     'the answer gives other figures for "numbered" than the question'),
    ("Which club finished second in the league?", "Rovers finished first in the league.",
     'the answer gives other figures for "finished" than the question'),
    ("Where was the concert held on June 1, 2013?", "A concert took place on June 1, 2013 in London.", ""),
    # a figure asked for one month, given only for another; "may" the verb names no month
    ("How many people died in militant attacks in february 2023?", "In January 2023, 134 people lost their lives in "
     "44 militant attacks.", "the answer gives figures for January, not February"),
    ("How many people may have died in March 2023?", "In March 2023, 98 people lost their lives.", ""),
    ("How many people died in March 2023?", "In March 2023 alone 98 people may have lost their lives.", ""),
    ("What grossed $20 million more than its predecessor?", "It grossed $70 million, about $20 million less than "
     "its predecessor.", 'the answer compares "$20 million more" the other way'),
    # a cost asked, a count given (a new user's hospital corpus); an amount or a share of one answers
    ("How much will the new MRI scanners cost?", "The surplus will be spent on replacing the hospital's two MRI "
     "scanners in 2024.", "no sentence gives an amount of money"),
    ("How much did the funeral cost?", "The expenses of the funeral, amounting to 5,000 francs, were covered.", ""),
    ("What is the cost per province's budget?", "The plan cost no less than one percent of the province's budget.", ""),
    ("How much did the repair cost?", "It cost €42,000.", ""),
    ("How much did the repair cost?", "The repair cost 4,000 afghanis.", ""),
    ("How much time do volunteers spend each week?", "Each volunteer gives one four-hour shift a week.", ""),
    ("How much rain fell the year the dam was funded?", "That year 800 mm of rain fell.", ""),
    # negation: asked what did not happen, or answered with the asked verb denied
    ("What was not used in the final cut?", "The demo was used in the final cut.",
     "the question asks what did not happen; no sentence says what did not"),
    ("Which phones do not play WMA files?", "Phones from Nokia play AAC files rather than WMA.", ""),
    ("Who will return to direct the sequel?", "Mendes has said he will not return to direct the sequel.",
     'the answer says "not return"'),
    ("When did the envoys return to Nanjing?", "The envoys did not return to Nanjing until 1407.", ""),
    # a verb the question denies too: the sentence agrees with it
    ("Who told Pakistan not to blame Afghanistan?", "Zabihullah Mujahid said Pakistan should not blame Afghanistan.", ""),
    ("Why hasn't Pakistan stopped the TTP?", "The border is porous and militants cross it at will.", ""),  # a cause
    # a "not" the question does not ask about: what someone was persuaded not to do, a condition
    ("Who persuaded the emperor not to send troops?", "The envoy persuaded the emperor to keep his troops home.", ""),
    ("What were they threatened with if they did not convert?", "The khan threatened them with execution.", ""),
])
def test_a_near_miss_is_told_by_what_the_sentence_lacks_not_by_its_wording(question, sentence, reason):
    assert unanswered_part(analyse(question), [sentence]) == reason


def test_a_figure_for_another_year_is_a_near_miss_only_when_no_sentence_leaves_the_year_open():
    """A sentence naming no year may give the year's figure (its paragraph opened "In 2024, ..."); the
    second sentence quoted beside it, on 2023, does not make the answer one about 2023."""
    asked = analyse("How many terrorist attacks did Pakistan suffer in 2024?")
    of_2024 = "Of 521 total attacks, a shocking 95% occurred in Khyber Pakhtunkhwa and Balochistan."
    of_2023 = "Security forces lost at least 386 personnel in the first 9 months of 2023."
    assert unanswered_part(asked, [of_2024, of_2023]) == ""
    assert unanswered_part(asked, [of_2023, "A total of 789 attacks took place in 2022."]) == \
        "the answer gives figures for 2022, 2023, not 2024"
    # a sentence beside it that gives no figure does not excuse it
    assert unanswered_part(asked, [of_2023, "Most of the attacks took place in Khyber Pakhtunkhwa."]) == \
        "the answer gives figures for 2023, not 2024"


def test_a_year_a_figure_is_only_compared_with_is_not_the_year_it_reports():
    """A safety review titled 2024 says "Assaults on frontline staff rose to 96, up from 81 in 2023":
    its figure is 2024's, and "in 2023" only says what it is compared with."""
    asked = analyse("How many assaults on frontline staff were recorded in 2024?")
    assert unanswered_part(asked, ["Assaults on frontline staff rose to 96, up from 81 in 2023."]) == ""
    assert unanswered_part(asked, ["Assaults rose to 96 (2023: 81)."]) == ""
    assert unanswered_part(asked, ["Assaults on frontline staff fell to 81 in 2023."]) == \
        "the answer gives figures for 2023, not 2024"
    # a hedge is no comparison: "more than 1,200 ... in 2023" is 2023's figure
    assert unanswered_part(analyse("How many people were killed in 2022?"),
                           ["More than 1,200 people were killed in 2023."]) == "the answer gives figures for 2023, not 2022"
    # asked for the year compared with, the sentence names it
    assert unanswered_part(analyse("How many assaults were recorded in 2023?"),
                           ["Assaults on frontline staff rose to 96, up from 81 in 2023."]) == ""


def test_a_figure_for_a_span_of_years_answers_a_question_about_either_year():
    """A fiscal year's "2022-23" was read as 2022 alone, and its figure refused for 2023."""
    asked = analyse("How much revenue did the trust earn in 2023?")
    assert unanswered_part(asked, ["Revenue for 2022-23 was $41 million."]) == ""
    assert unanswered_part(asked, ["Revenue for 2020-21 was $38 million."]) == \
        "the answer gives figures for 2020, 2021, not 2023"


def test_a_many_word_name_the_documents_never_write_is_not_answered_by_its_words_apart():
    """Each word of "The Washington Observer" is in the article; the newspaper is not."""
    article = ("Alyssa Rosenberg, writing for The Washington Post, called it conventional. Lawrence Toppman of The "
               "Charlotte Observer called Craig's performance bored. The tournament is the U.S. Open in Queens.")
    assert unnamed_in("Alyssa Rosenberg of The Washington Observer said what about the film?", article) == \
        {"Washington Observer"}
    assert unnamed_in("What did Alyssa Rosenberg of the Washington Post say?", article) == set()
    assert unnamed_in("Where is the US Open held?", article) == set()  # full stops are not part of a name
    # a question's first words can be a name ("North Korea"), or a role before one; a preposition is not
    assert unnamed_in("Lawrence Rosenberg writes for which paper?", article) == {"Lawrence Rosenberg"}
    assert unnamed_in("Columnist Alyssa Rosenberg wrote for which paper?", article) == {"Columnist Alyssa Rosenberg"}
    assert unnamed_in("Upon Craig's performance, what did Lawrence Toppman say?", article) == set()
    # a name's words in another order are still the name: "the Williams Formula One team"
    built = "The cars were built by the engineering division of Formula One racing team Williams."
    assert unnamed_in("What did the Williams Formula One team build?", built) == set()
    assert "Williams Formula Two" in unnamed_in("What did the Williams Formula Two team build?", built)


def test_a_named_count_is_answered_only_by_a_count_of_that_thing():
    """"Two hundred TTP militants captured" names the TTP and a figure, but does not count its fighters."""
    fighters = analyse("How many TTP fighters are in Afghanistan?")
    assert unanswered_part(fighters, ["The Taliban captured two hundred TTP militants."]) == \
        'no sentence counts "TTP fighters"'
    assert unanswered_part(fighters, ["The TTP has some 6,000 fighters in Afghanistan."]) == ""
