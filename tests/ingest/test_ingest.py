"""Ingestion as a user meets it: what goes in, what is skipped and why, what a re-run costs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import docx
import pytest
from fpdf import FPDF

from chatbot.terminal import details
from ingest.chunking import chunk_text
from ingest.pipeline import ingest
from ragchat.library import Library
from vectorstore import lexical
from vectorstore.embeddings import LocalEmbeddings
from vectorstore.store import Store, StoreError

from tests.conftest import CORPUS


def _chunks_by_source(store: Store) -> dict[str, list]:
    result: dict[str, list] = {}
    for chunk in store.all_chunks():
        result.setdefault(chunk.source, []).append(chunk)
    return result


def test_every_chunk_is_an_exact_slice_of_its_cleaned_document(corpus_settings):
    store = Store(corpus_settings)
    docs = store.documents()
    chunks = list(store.all_chunks())
    assert len(docs) == 5 and len(chunks) > 50
    for chunk in chunks:
        assert store.document_text(chunk.doc_id)[chunk.start:chunk.end] == chunk.text


def test_chunks_respect_the_token_limit_and_end_at_sentence_boundaries():
    text = (CORPUS / "002_c8b9326db87545d0.txt").read_text(encoding="utf-8")
    chunks = chunk_text(" ".join(text.split()), max_tokens=120, overlap=0.15)
    assert len(chunks) > 10
    assert all(c.tokens <= 125 for c in chunks)
    # Cuts fall after sentence punctuation, not mid-sentence (the text has no over-long sentences).
    inner_ends = [c.text.rstrip()[-1] for c in chunks[:-1]]
    assert sum(ch in ".!?\"')”’]" or ch.isdigit() for ch in inner_ends) / len(inner_ends) > 0.9
    # Consecutive chunks overlap by whole sentences.
    assert any(b.start < a.end for a, b in zip(chunks, chunks[1:]))


def test_headings_start_new_chunks():
    text = "# Alpha\n\n" + "Alpha sentence here. " * 5 + "\n\n## Beta\n\nBeta sentence follows."
    chunks = chunk_text(text.strip(), max_tokens=250)
    assert [c.text.split("\n")[0] for c in chunks] == ["# Alpha", "## Beta"]
    assert chunks[1].heading == "Beta"


def test_manifest_metadata_is_used_and_nulls_stay_empty(corpus_settings):
    docs = {d.source: d for d in Store(corpus_settings).documents().values()}
    assert docs["001_a5b27a2b9793a65e.txt"].author == "Taut Bataut"
    assert docs["001_a5b27a2b9793a65e.txt"].date == "2024-06-11"
    # The manifest says 003 states no title: the first line (an author byline) must not become one.
    assert docs["003_6819430c7062e888.txt"].title == ""
    assert docs["003_6819430c7062e888.txt"].author == "Dr. Khuram Iqbal"


def test_unchanged_files_embed_nothing_and_changed_files_replace_their_chunks(settings, corpus_copy):
    counting = LocalEmbeddings("all-MiniLM-L6-v2")
    first = ingest([corpus_copy], settings, embeddings=counting, progress=False)
    assert len(first.added) == 5 and counting.texts_embedded == first.chunks_written

    embedded_before = counting.texts_embedded
    again = ingest([corpus_copy], settings, embeddings=counting, progress=False)
    assert len(again.unchanged) == 5 and again.chunks_written == 0
    assert counting.texts_embedded == embedded_before

    short = corpus_copy / "004_7c390ca7a747a0fa.txt"
    short.write_text("The Torkham border reopened after talks in Kabul.\n", encoding="utf-8")
    changed = ingest([corpus_copy], settings, embeddings=counting, progress=False)
    assert changed.updated == [str(short)] and len(changed.unchanged) == 4
    assert counting.texts_embedded == embedded_before + 1
    store = Store(settings)
    texts = [c.text for c in _chunks_by_source(store)["004_7c390ca7a747a0fa.txt"]]
    assert texts == ["The Torkham border reopened after talks in Kabul."]
    index = lexical.load_index(settings, store)
    hits = index.search("Torkham reopened", 1)
    assert hits and hits[0][0].startswith(store.documents()[next(iter(
        d for d, r in store.documents().items() if r.source == short.name))].doc_id)


def test_a_moved_folder_is_the_same_documents_with_their_vectors_reused(settings, corpus_copy, embeddings, tmp_path):
    ingest([corpus_copy], settings, embeddings=embeddings, progress=False)
    chunks = Store(settings).count()
    moved = corpus_copy.rename(tmp_path / "renamed")
    before = embeddings.texts_embedded
    report = ingest([moved], settings, embeddings=embeddings, progress=False)

    assert len(report.moved) == 5 and "5 added (5 of them moved" in report.summary()
    assert embeddings.texts_embedded == before  # nothing embedded again
    store = Store(settings)
    assert len(store.documents()) == 5 and store.count() == chunks  # not every document twice
    assert all(r.path.startswith(str(moved.resolve())) for r in store.documents().values())
    index = lexical.load_index(settings, store)
    assert len(index) == chunks and index.search("Torkham", 1)[0][0].split(":")[0] in store.documents()


def test_a_copy_left_behind_by_a_killed_move_goes_on_the_next_run(settings, corpus_copy, embeddings, tmp_path):
    """The state a kill between storing the moved document and deleting its old entry leaves: both."""
    ingest([corpus_copy], settings, embeddings=embeddings, progress=False)
    copy = shutil.copytree(corpus_copy, tmp_path / "copy")
    ingest([copy], settings, embeddings=embeddings, progress=False)
    assert len(Store(settings).documents()) == 10
    shutil.rmtree(corpus_copy)

    report = ingest([copy], settings, embeddings=embeddings, progress=False)
    assert len(report.unchanged) == 5 and len(report.moved) == 5
    assert sorted({Path(r.path).parent for r in Store(settings).documents().values()}) == [copy.resolve()]


def test_prune_removes_documents_whose_files_are_gone(settings, corpus_copy, embeddings):
    ingest([corpus_copy], settings, embeddings=embeddings, progress=False)
    (corpus_copy / "000_b06fe420cd4f60ee.txt").unlink()
    kept = ingest([corpus_copy], settings, embeddings=embeddings, progress=False)
    assert kept.pruned == [] and len(Store(settings).documents()) == 5  # no --prune: nothing deleted

    pruned = ingest([corpus_copy], settings, embeddings=embeddings, progress=False, prune=True)
    store = Store(settings)
    assert [Path(p).name for p in pruned.pruned] == ["000_b06fe420cd4f60ee.txt"]
    assert "000_b06fe420cd4f60ee.txt" not in _chunks_by_source(store)
    assert len(store.documents()) == 4


def test_a_reset_killed_between_its_two_deletes_is_redone_by_a_plain_rerun(settings, tmp_path, embeddings):
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(CORPUS / "004_7c390ca7a747a0fa.txt", folder)
    ingest([folder], settings, embeddings=embeddings, progress=False)
    store = Store(settings)
    chunks = store.count()
    store.client.delete_collection(store.chunks.name)  # the chunks are gone, the records not yet

    rerun = ingest([folder], settings, embeddings=embeddings, progress=False)
    assert rerun.unchanged == [] and len(rerun.updated) == 1  # the record alone does not make it unchanged
    assert Store(settings).count() == chunks > 0


def _write_pdf(path: Path, pages: list[str], title: str = "") -> None:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for page in pages:
        pdf.add_page()
        if page:
            pdf.multi_cell(0, 10, page)
    if title:
        pdf.set_title(title)
    pdf.output(str(path))


def test_every_supported_format_is_ingested_with_its_structure(settings, tmp_path, embeddings):
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.md").write_text("# Border notes\n\nAuthor: Sam Lee\n\nThe Chaman crossing was busy.\n", encoding="utf-8")
    (folder / "sub" / "page.html").write_text(
        "<html><head><title>Trade page</title><script>var hidden = 'SECRET';</script></head>"
        "<body><h2>Trade</h2><p>Exports rose by 12 percent.</p><style>p{}</style></body></html>", encoding="utf-8")
    _write_pdf(folder / "report.pdf", ["First page about Torkham.", "Second page about Chaman."], title="Border Report")
    document = docx.Document()
    document.add_heading("Security review", level=1)
    document.add_paragraph("The review covers the Kurram district.")
    document.save(str(folder / "review.docx"))
    # a press release's letterhead is not its title: the headline standing alone under it is
    (folder / "release.txt").write_text("NORTHWAY PORT AUTHORITY\nPRESS RELEASE\nDate: 3 May 2024\n\n"
                                        "Port opens a second container berth\n\nThe new berth takes ships of ...\n",
                                        encoding="utf-8")
    (folder / "guide.txt").write_text("NORTHWAY PORT AUTHORITY\nVisiting the port: parking and access\n"
                                      "Updated May 2024\n\nVisitors park on Quay Road.\n", encoding="utf-8")

    report = ingest([folder], settings, embeddings=embeddings, progress=False)
    assert sorted(Path(p).name for p in report.added) == ["guide.txt", "notes.md", "page.html", "release.txt",
                                                         "report.pdf", "review.docx"]
    store = Store(settings)
    docs = {d.source: d for d in store.documents().values()}
    assert docs["notes.md"].title == "Border notes" and docs["notes.md"].author == "Sam Lee"
    assert docs["page.html"].title == "Trade page"
    assert docs["report.pdf"].title == "Border Report"
    assert docs["review.docx"].title == "Security review"
    assert docs["release.txt"].title == "Port opens a second container berth"
    assert docs["guide.txt"].title == "Visiting the port: parking and access"  # the title under a name in capitals
    from ingest.metadata import extract  # a letter's formula or a contents line is no title
    assert extract("MEMORANDUM\nTo: All staff\n\nDear colleagues,\n\nFrom Monday ...\n")["title"] == "MEMORANDUM"
    assert extract("PRESS RELEASE\nFor immediate release\n\nPort opens second berth\n\nThe ...\n")["title"] == \
        "Port opens second berth"
    assert extract("ACME HARBOUR TRUST\nANNUAL REPORT 2024\n\nContents\n\n1. ...\n")["title"] == "ACME HARBOUR TRUST"
    html_text = store.document_text(docs["page.html"].doc_id)
    assert "## Trade" in html_text and "Exports rose by 12 percent." in html_text and "SECRET" not in html_text
    pdf_chunks = _chunks_by_source(store)["report.pdf"]
    assert pdf_chunks[0].page == 1
    assert "Second page" in store.document_text(docs["report.pdf"].doc_id)


def test_a_word_list_keeps_its_numbers_and_bullets_and_its_items_answer(settings, tmp_path, embeddings):
    """A Word list was stored as bare lines: no "3." for "the third recommendation", and an item
    without a full stop was never quoted."""
    document = docx.Document()
    document.add_heading("Station safety review", level=1)
    document.add_paragraph("The review of station safety makes three recommendations for the coming year.")
    for item in ("Install CCTV cameras at all twelve stations", "Hire twelve more security guards for night shifts",
                 "Train platform staff in de-escalation"):
        document.add_paragraph(item, style="List Number")
    document.add_paragraph("Staff raised one concern:")
    document.add_paragraph("lighting at the bus stops is poor", style="List Bullet")
    document.add_heading("Next year", level=2)
    document.add_paragraph("Review the night routes", style="List Number")  # a heading starts the count again
    document.save(str(tmp_path / "review.docx"))
    ingest([tmp_path / "review.docx"], settings, embeddings=embeddings, progress=False)

    library = Library(settings)
    lines = [line for line in library.document_text(library.documents()[0].doc_id).split("\n") if line]
    assert lines[2:] == ["1. Install CCTV cameras at all twelve stations",
                         "2. Hire twelve more security guards for night shifts",
                         "3. Train platform staff in de-escalation", "Staff raised one concern:",
                         "• lighting at the bus stops is poor", "## Next year", "1. Review the night routes"]
    result = library.ask("How many security guards will be hired for night shifts?")
    assert not result.abstained and result.answer_span.text == "twelve"
    assert result.sentences[0].text == "Hire twelve more security guards for night shifts"


def _numbered_by_button(paragraph, list_id: str, level: int = 0) -> None:
    """What Word's Numbering and Bullets buttons write: the paragraph points at a list of numbering.xml."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    numbering = OxmlElement("w:numPr")
    for tag, value in (("w:ilvl", str(level)), ("w:numId", list_id)):
        child = OxmlElement(tag)
        child.set(qn("w:val"), value)
        numbering.append(child)
    paragraph._p.get_or_add_pPr().append(numbering)


def test_a_word_list_numbered_by_the_toolbar_button_keeps_its_numbers(settings, tmp_path, embeddings):
    """A list numbered with Word's Numbering button (not a "List Number" style) was written with
    bullets: its format is in numbering.xml, which was not read, so "the second step" had no "2."."""
    document = docx.Document()
    # python-docx's template: list 9 is numbered "1.", list 1 bulleted
    document.add_paragraph("The plan has three steps.")
    for step in ("Survey the bridge deck", "Replace the expansion joints", "Resurface the carriageway"):
        _numbered_by_button(document.add_paragraph(step), "9")
    _numbered_by_button(document.add_paragraph("Night closures only"), "1")
    document.save(str(tmp_path / "plan.docx"))
    ingest([tmp_path / "plan.docx"], settings, embeddings=embeddings, progress=False)

    library = Library(settings)
    lines = [line for line in library.document_text(library.documents()[0].doc_id).split("\n") if line]
    assert lines == ["The plan has three steps.", "1. Survey the bridge deck", "2. Replace the expansion joints",
                     "3. Resurface the carriageway", "• Night closures only"]


def test_a_pdf_paragraph_printed_over_several_lines_is_quoted_whole(settings, tmp_path, embeddings):
    """A PDF's text comes out a printed line per line; the answer quotes the sentence, not a line of it."""
    sentence = ("The delegation, led by the deputy foreign minister of the interim government, arrived in Islamabad "
                "on Monday for three days of talks about border security, trade through Torkham and the return of "
                "refugees.")
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    for block in ["Border talks", f"{sentence} Officials said the visit was the first of its kind since the new "
                  "year began.", "- Trade through Torkham resumed.", "- Refugee returns were paused."]:
        pdf.multi_cell(0, 8, block, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(tmp_path / "talks.pdf"))
    ingest([tmp_path / "talks.pdf"], settings, embeddings=embeddings, progress=False)

    library = Library(settings)
    lines = library.document_text(library.documents()[0].doc_id).split("\n")
    assert lines[0] == "Border talks" and lines[-2:] == ["- Trade through Torkham resumed.", "- Refugee returns were paused."]
    result = library.ask("How long did the delegation's talks in Islamabad last?")
    assert result.citations[0].quote == sentence
    assert "talks.pdf - Border talks, page 1, chars " in details(result)  # the terminal names the page a reader can turn to
    assert result.answer_span is not None and result.answer_span.text == "three days"


class _ReportWithFurniture(FPDF):
    """A report as offices print them: a running header and a page number on every page."""

    def header(self):
        self.set_font("helvetica", size=9)
        self.cell(0, 8, "Border Report 2024", new_x="LMARGIN", new_y="NEXT")

    def footer(self):
        self.set_y(-15)
        self.set_font("helvetica", size=9)
        self.cell(0, 8, f"Page {self.page_no()}")


def test_a_sentence_cut_by_a_page_break_is_quoted_whole_without_headers_or_page_numbers(settings, tmp_path, embeddings):
    pdf = _ReportWithFurniture()
    for page in ["The border had been closed to lorries since the end of January, and traders on both sides counted "
                 "their losses in the millions while the two governments traded blame over the attacks that had "
                 "closed it. Talks between the two governments opened in Kabul on Monday after months of strained "
                 "relations, and the two delegations",
                 "agreed to reopen the Torkham crossing to lorries on 12 March. Refugee returns were discussed at "
                 "length as well, and both sides said that the talks would go on in Islamabad in the spring.",
                 "A joint statement was expected but did not come, and the delegation left for home on Wednesday."]:
        pdf.add_page()
        pdf.set_font("helvetica", size=12)
        pdf.multi_cell(0, 8, page, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(tmp_path / "report.pdf"))
    ingest([tmp_path / "report.pdf"], settings, embeddings=embeddings, progress=False)

    library = Library(settings)
    text = library.document_text(library.documents()[0].doc_id)
    assert "Border Report" not in text and "Page " not in text
    result = library.ask("When will the Torkham crossing reopen to lorries?")
    assert result.citations[0].quote == ("Talks between the two governments opened in Kabul on Monday after months of "
                                         "strained relations, and the two delegations agreed to reopen the Torkham "
                                         "crossing to lorries on 12 March.")
    assert result.answer_span is not None and result.answer_span.text == "12 March"


def test_html_reads_as_a_browser_shows_it_paragraphs_whole_and_preformatted_lines_kept(settings, tmp_path, embeddings):
    (tmp_path / "page.html").write_text(
        "<html><body><p>The delegation met officials in\n    Islamabad on Monday.\n    It left for\n    Kabul on "
        "Wednesday.</p><pre>make run\nmake test</pre><div>Border talks</div>\nThe visit ended."
        "<table><tr><td><p>A page laid out in a table.</p></td><td><h2>Aside</h2><p>Its side column.</p></td></tr>"
        "</table><td>A stray cell</td><td>and another</td></body></html>",
        encoding="utf-8")
    ingest([tmp_path / "page.html"], settings, embeddings=embeddings, progress=False)
    store = Store(settings)
    text = store.document_text(next(iter(store.documents())))
    assert "The delegation met officials in Islamabad on Monday. It left for Kabul on Wednesday." in text.split("\n")
    assert "make run\nmake test" in text
    assert "Border talks\n\nThe visit ended." in text  # the text after a block is not run into it
    assert "A page laid out in a table.\n\n## Aside\n\nIts side column." in text  # a table with no header is a layout
    assert "A stray cell\n\nand another" in text  # cells outside any table are blocks, as before tables were read


def _stored_page(settings, tmp_path: Path, embeddings, html: str) -> str:
    """The text ingest stores for a saved web page."""
    (tmp_path / "page.html").write_text(html, encoding="utf-8")
    ingest([tmp_path / "page.html"], settings, embeddings=embeddings, progress=False)
    store = Store(settings)
    return store.document_text(next(iter(store.documents())))


def test_a_web_page_s_navigation_and_site_footer_are_not_its_text(settings, tmp_path, embeddings):
    """A saved page's menu became a chunk of its own ("Home | Fleet | Contact") and took places in the
    search that passages should have; the site's footer was stored as text. An article's own footer
    (its author and date) is the article's."""
    text = _stored_page(settings, tmp_path, embeddings,
        "<html><body><header><h1>Calderport Transit</h1><nav><a href='/'>Home</a> | <a href='/fleet'>Fleet</a>"
        "</nav></header><div role='navigation'>Skip to content</div><main><article><h2>Our buses</h2>"
        "<p>We run 42 battery-electric buses.</p><footer>By Jane Doe, 3 March 2025</footer></article>"
        "<blockquote><p>Buses first.</p><footer>Mayor Ada Lin</footer></blockquote><div role='Navigation menu'>Menu</div>"
        "</main><footer>&copy; 2025 Calderport Transit. Cookie settings.</footer></body></html>")
    assert "We run 42 battery-electric buses." in text and "By Jane Doe, 3 March 2025" in text
    assert "Buses first.\n\nMayor Ada Lin" in text  # a quote's footer names its speaker
    assert not any(word in text for word in ("Home", "Skip to content", "Menu", "Cookie settings"))


def test_a_menu_left_unclosed_does_not_hide_the_page(settings, tmp_path, embeddings):
    """A saved page whose <nav> is never closed holds everything after it, as far as the parser is
    concerned; a browser still shows the page, and the page was stored as nothing."""
    text = _stored_page(settings, tmp_path, embeddings,
        "<html><body><nav><ul><li><a href='/'>Home</a><li><a href='/fleet'>Fleet</a></ul>"
        "<main><h1>Our buses</h1><p>We run 42 battery-electric buses.</p></main>"
        "<footer>&copy; 2025 Calderport Transit. Cookie settings.</footer></body></html>")
    assert "# Our buses" in text and "We run 42 battery-electric buses." in text
    assert not any(word in text for word in ("Home", "Fleet", "Cookie settings"))


def test_a_closed_menu_s_logo_heading_and_a_footer_s_article_stay_hidden(settings, tmp_path, embeddings):
    """Only a <main> or <article> ends a menu's hiding, and only a menu's: a logo's <h1> inside a
    closed <nav> exposed "Home" and "Contact us", and an <article> inside the site footer the footer."""
    text = _stored_page(settings, tmp_path, embeddings,
        "<html><body><nav><h1>Calderport</h1><a href='/'>Home</a> <a href='/c'>Contact us</a></nav>"
        "<main><p>We run 42 battery-electric buses.</p></main>"
        "<footer><article>Site news</article> Cookie settings.</footer></body></html>")
    assert "We run 42 battery-electric buses." in text
    assert not any(word in text for word in ("Home", "Contact us", "Site news", "Cookie settings"))


_CROSSINGS_MD = """# Border crossings

The two main crossings are Torkham and Chaman; both were closed for long periods in 2024.

| Crossing | Lorries in 2023 | Lorries in 2024 | Days closed in 2024 |
|---|---:|---:|---:|
| Torkham | 182,000 | 121,500 | 47 |
| Chaman | 96,400 | 58,200 | 83 |

Traders blamed the closures on disputes over fencing.
"""

_RETURNS_HTML = """<html><body><h1>Refugee returns</h1><p>Pakistan began deporting undocumented Afghans in 2023.</p>
<table><caption>Returns by province</caption>
<thead><tr><th>Province</th><th>Returnees in 2024</th><th>Main crossing</th></tr></thead>
<tbody><tr><td>Nangarhar</td><td>312,000</td><td>Torkham</td></tr>
<tr><td>Kandahar</td><td>205,000</td><td>Chaman</td></tr>
<tr><td>Khost</td><td><b>44,000</b></td><td>Ghulam Khan</td></tr>
<tr><td colspan="3">Figures for 2024 are provisional.</td></tr>
<tr><td>Kunar</td><td>9,000</td><td><table><tr><th>Route</th><th>Share</th></tr><tr><td>Nawa Pass</td><td>60%</td></tr>
</table></td></tr></tbody></table>
<table><tr><th>Source</th><td>UN refugee agency</td></tr></table>
<table><tr><th rowspan="2">Crossing</th><th colspan="2">Lorries</th><th rowspan="2">Days closed</th></tr>
<tr><th>2023</th><th>2024</th></tr>
<tr><td rowspan="2">Torkham</td><td>182,000</td><td>121,500</td><td>47</td></tr>
<tr><td>190,000</td><td>118,000</td><td>39</td></tr></table></body></html>"""


def test_a_table_row_answers_with_its_cell_under_the_column_asked_about(settings, tmp_path, embeddings):
    """A row read alone ("| Chaman | 96,400 | 58,200 | 83 |") shares no word with the question; stored
    with its header's labels it is found, quoted, and its short answer is the asked column's cell."""
    (tmp_path / "crossings.md").write_text(_CROSSINGS_MD, encoding="utf-8")
    (tmp_path / "returns.html").write_text(_RETURNS_HTML, encoding="utf-8")
    ingest([tmp_path], settings, embeddings=embeddings, progress=False)
    library = Library(settings)
    texts = {d.source: library.document_text(d.doc_id) for d in library.documents()}
    assert "Crossing: Chaman; Lorries in 2023: 96,400; Lorries in 2024: 58,200; Days closed in 2024: 83." \
        in texts["crossings.md"].split("\n")
    assert "|" not in texts["crossings.md"]
    assert "Returns by province\n\nProvince: Nangarhar; Returnees in 2024: 312,000; Main crossing: Torkham." \
        in texts["returns.html"]
    assert "Source: UN refugee agency." in texts["returns.html"].split("\n")  # a row's own <th> labels it
    assert "Figures for 2024 are provisional." in texts["returns.html"].split("\n")  # a note across the columns
    # a table nested in a cell is that cell's text, not lines before its row
    assert "Province: Kunar; Returnees in 2024: 9,000; Main crossing: Route: Nawa Pass, Share: 60%." \
        in texts["returns.html"].split("\n")
    # a cell spanning columns or rows is in each of them, and two header rows make one
    rows = texts["returns.html"].split("\n")
    assert "Crossing: Torkham; Lorries 2023: 182,000; Lorries 2024: 121,500; Days closed: 47." in rows
    assert "Crossing: Torkham; Lorries 2023: 190,000; Lorries 2024: 118,000; Days closed: 39." in rows

    for question, row, span in [
            ("How many days was Chaman closed in 2024?", "Crossing: Chaman;", "83"),
            ("How many lorries crossed at Torkham in 2023?", "Crossing: Torkham;", "182,000"),
            ("Which crossing do returnees to Khost use?", "Province: Khost;", "Ghulam Khan")]:
        result = library.ask(question)
        assert result.citations and result.citations[0].quote.startswith(row), question
        assert result.answer_span is not None and result.answer_span.text == span, question


def test_a_text_files_inline_marks_are_not_quoted_and_do_not_hide_the_short_answer(settings, tmp_path, embeddings):
    """Text saved from the web keeps its Markdown and HTML marks; the reader is quoted what the page
    shows, and the short answer is found where the marks stood around it."""
    (tmp_path / "review.txt").write_text(
        "#### **Security since the takeover**\n\n"
        "The Afghan Taliban took over Kabul on 15<sup>th</sup> August 2021.\n\n"
        "Since then, terrorist attacks in Pakistan have surged by almost **73 percent**, according to "
        "[the institute's report](https://example.org/report).\n", encoding="utf-8")
    ingest([tmp_path], settings, embeddings=embeddings, progress=False)
    library = Library(settings)
    for question, quote, span in [
            ("When did the Taliban take over Kabul?",
             "The Afghan Taliban took over Kabul on 15th August 2021.", "15th August 2021"),
            ("By how much did terrorist attacks in Pakistan surge?",
             "Since then, terrorist attacks in Pakistan have surged by almost 73 percent, according to the "
             "institute's report.", "almost 73 percent")]:
        result = library.ask(question)
        assert result.citations and result.citations[0].quote == quote, question
        assert result.answer_span is not None and result.answer_span.text == span, question


def test_a_sidecar_overrides_what_the_text_says(settings, tmp_path, embeddings):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "brief.txt").write_text("Some heading\n\nAuthor: Wrong Person\n\nBody text here.", encoding="utf-8")
    (folder / "brief.txt.meta.json").write_text(json.dumps({"title": "Real Title", "author": None, "date": "2024-05-01"}))
    ingest([folder], settings, embeddings=embeddings, progress=False)
    (doc,) = Store(settings).documents().values()
    assert (doc.title, doc.author, doc.date) == ("Real Title", "", "2024-05-01")


def _bad_files(folder: Path) -> dict[str, str]:
    """file name -> words its skip reason must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.md").write_text("  \n\n \n")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02PNG\x00" * 50)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    _write_pdf(folder / "scan.pdf", ["", ""])
    (folder / "broken.docx").write_bytes(b"PK\x03\x04 not a zip")
    (folder / "table.xlsx").write_bytes(b"whatever")
    return {"empty.txt": "empty", "blank.md": "empty", "binary.txt": "binary",
            "broken.pdf": "corrupt PDF", "scan.pdf": "no extractable text", "broken.docx": "corrupt .docx",
            "table.xlsx": "unsupported type .xlsx"}


def test_bad_files_are_skipped_with_a_reason_and_the_rest_is_ingested(settings, tmp_path, embeddings):
    folder = tmp_path / "bad"
    expected = _bad_files(folder)
    shutil.copy(CORPUS / "004_7c390ca7a747a0fa.txt", folder / "good.txt")
    lines: list[tuple[str, str]] = []
    report = ingest([folder, tmp_path / "missing"], settings, embeddings=embeddings, progress=False,
                    on_error=lambda path, reason: lines.append((path, reason)))
    assert [Path(p).name for p in report.added] == ["good.txt"]
    reasons = {Path(path).name: reason for path, reason in lines}
    for name, words in expected.items():
        assert words in reasons[name], (name, reasons.get(name))
    assert "no such file" in reasons["missing"]
    assert all("\n" not in reason for reason in reasons.values())


def test_bad_files_never_remove_what_is_stored(settings, corpus_copy, embeddings):
    ingest([corpus_copy], settings, embeddings=embeddings, progress=False)
    before = sorted(c.chunk_id for c in Store(settings).all_chunks())
    (corpus_copy / "004_7c390ca7a747a0fa.txt").write_bytes(b"\x00\x00 now binary \x00")
    report = ingest([corpus_copy], settings, embeddings=embeddings, progress=False, prune=True)
    assert [Path(p).name for p, _ in report.failed] == ["004_7c390ca7a747a0fa.txt"]
    assert sorted(c.chunk_id for c in Store(settings).all_chunks()) == before


def test_a_store_built_with_another_model_is_refused_with_the_fix(settings, corpus_copy, embeddings, tmp_path):
    ingest([corpus_copy / "004_7c390ca7a747a0fa.txt"], settings, embeddings=embeddings, progress=False)
    other_model = tmp_path / "other-model"
    shutil.copytree(embeddings.path, other_model)
    other = LocalEmbeddings(str(other_model))
    with pytest.raises(StoreError, match="--reset"):
        ingest([corpus_copy], settings, embeddings=other, progress=False)
    assert len(Store(settings).documents()) == 1  # refused before anything was touched
    rebuilt = ingest([corpus_copy], settings, embeddings=other, progress=False, reset=True)
    assert len(rebuilt.added) == 5
    assert Store(settings).model_info()["embedding_model"] == str(other_model)
