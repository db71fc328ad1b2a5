"""ragchat in the browser: ask the library, see the quotes behind every answer, add documents.

Run with ``ragchat ui`` (or ``make run``). Streamlit runs each browser tab's session in its own
thread, so one slow question never blocks another tab; what the tabs share (the Chroma client,
the embedding model, the retriever's indexes) is cached once per process with
``st.cache_resource`` or module-level caches and only read while answering. All document and
user text goes through ``chatbot.ui.rendering`` so it is shown literally, never as markup.
"""

from __future__ import annotations

import itertools

import streamlit as st

from chatbot import backends
from chatbot.resources import chooser
from chatbot.schema import Answer, Citation
from chatbot.ui import rendering as ui
from prompts import load
from ragchat.library import Library
from ragchat.settings import Settings
from vectorstore.store import StoreError


@st.cache_resource(show_spinner="Opening the library…")
def open_library(settings: Settings) -> Library:
    """One library (Chroma client, models, indexes) per store for all sessions; its reads are thread-safe."""
    return Library(settings)


@st.cache_data(ttl=15, show_spinner=False)
def cached_status(backend: str, settings: Settings) -> str:
    """Probing a server can take seconds; every rerun of every tab need not repeat it."""
    return backends.get(backend).status(settings)


def new_chat() -> None:
    st.session_state.answers = []
    st.session_state.chat += 1


def ask(question: str) -> None:
    st.session_state.pending = question


def record_feedback(key: str, answer: Answer) -> None:
    rating = st.session_state.get(key)
    if rating is not None:
        ui.append_feedback(settings.data_dir / "feedback.jsonl", ui.feedback_record(answer, thumbs_up=rating == 1))


@st.dialog("Open in document", width="large")
def open_document(citation: Citation) -> None:
    st.markdown(f"**{ui.escape_markdown(citation.title or citation.source)}** · {ui.escape_markdown(citation.source)}")
    try:
        text = library.document_text(citation.doc_id)
    except StoreError as exc:
        st.warning(str(exc))
        return
    st.html(ui.document_html(text, citation.start, citation.end))
    st.html(ui.SCROLL_TO_QUOTE, unsafe_allow_javascript=True)


def show_sources(answer: Answer, key: str, badges: bool) -> None:
    threshold = chooser(settings.compose.chooser_file).answer_threshold
    for j, c in enumerate(answer.citations):
        quoted = ui.support_label(c.support, settings.answer.support_threshold, ui.quoted_verbatim(answer, c))
        answers = ui.answers_label(ui.citation_answers(answer, c.n), threshold)
        st.html(ui.citation_html(c, quoted if badges else "", answers if badges else ""))
        if st.button("Open in document", key=f"{key}-open-{j}", icon=":material/description:", type="tertiary"):
            open_document(c)


def show_answer(answer: Answer, key: str) -> None:
    if answer.abstained:
        st.info(ui.escape_markdown(answer.answer), icon=":material/search_off:")
    else:
        st.html(ui.answer_html(answer))
    for notice in answer.notices:
        st.caption(f":material/info: {ui.escape_markdown(notice)}")
    if answer.citations:
        st.markdown(f"**{load('closest_passages')}**" if answer.abstained else "**Sources**")
        show_sources(answer, key, badges=not answer.abstained)
    st.feedback("thumbs", key=f"{key}-feedback", on_change=record_feedback, args=(f"{key}-feedback", answer))


st.set_page_config(page_title="ragchat", page_icon="💬")
st.html(ui.STYLE)
st.session_state.setdefault("answers", [])
st.session_state.setdefault("chat", 0)
answers: list[Answer] = st.session_state.answers
defaults = Settings.from_env()

with st.sidebar:
    st.page_link("app.py", label="Chat", icon=":material/forum:")
    st.page_link("pages/evaluation.py", label="Evaluation", icon=":material/monitoring:")
    st.button("New chat", icon=":material/add_comment:", on_click=new_chat, disabled=not answers, width="stretch")

    st.subheader("Answering")
    names = backends.names()
    backend = st.selectbox("Backend", names, index=names.index(defaults.answer.backend) if defaults.answer.backend in names else 0,
                           format_func=lambda b: backends.get(b).label)
    # Each backend says which settings it needs; the retriever and models are shared whatever they are.
    settings = defaults.replace(**{i.setting: st.text_input(i.label, defaults.get(i.setting), placeholder=i.placeholder)
                                   for i in backends.get(backend).inputs})
    st.caption(f":material/circle: {ui.escape_markdown(cached_status(backend, settings))}")
    k = st.slider("Passages to read", 1, 12, settings.retrieval.top_k)

    library = open_library(defaults)
    try:
        records = library.documents()
    except StoreError as exc:
        st.error(str(exc))
        records = []
    labels = {r.doc_id: r.label for r in records}
    chosen = st.multiselect("Only search these documents", list(labels), format_func=labels.get,
                            placeholder="All documents")

    st.subheader("Library")
    st.dataframe([{"Title": r.label, "Passages": r.chunks, "Date": r.date or "—"} for r in records],
                 hide_index=True, width="stretch")
    limit = defaults.ingest.upload_max_mb
    uploads = st.file_uploader(f"Add documents (up to {limit} MB each)", type=[s.lstrip(".") for s in Library.supported_types()],
                               accept_multiple_files=True, max_upload_size=limit,
                               key=f"uploads-{st.session_state.get('upload_round', 0)}")
    if uploads and st.button(f"Add {len(uploads)} file{'s' if len(uploads) > 1 else ''} to the library", type="primary"):
        bar = st.progress(0.0)
        result = library.add_files([(u.name, u.getvalue()) for u in uploads],
                                   progress=lambda done, name: bar.progress(done / len(uploads), text=f"Reading {name}…"))
        bar.progress(1.0, text="Done")
        st.session_state.upload_result = (result.added, result.refused)
        st.session_state.upload_round = st.session_state.get("upload_round", 0) + 1
        st.rerun()
    if "upload_result" in st.session_state:
        added, problems = st.session_state.upload_result
        if added:
            st.success(f"Added {len(added)} file{'s' if len(added) > 1 else ''}.")
        for name, reason in problems:
            st.warning(f"{ui.escape_markdown(name)}: {ui.escape_markdown(reason)}")

    if answers:
        st.subheader("This conversation")
        st.download_button("Export as Markdown", ui.conversation_markdown(answers, settings.answer.support_threshold), "ragchat-conversation.md",
                           "text/markdown", icon=":material/download:", width="stretch")
        st.download_button("Export as JSON", ui.conversation_json(answers), "ragchat-conversation.json",
                           "application/json", icon=":material/data_object:", width="stretch")

st.title("Ask the library")
if not answers:
    st.caption(ui.escape_markdown(ui.collection_summary(records)))
    for i, example in enumerate(ui.example_questions(records, settings.ui.examples_file)):
        st.button(example, key=f"example-{i}", on_click=ask, args=(example,), icon=":material/help:")

for i, past in enumerate(answers):
    with st.chat_message("user"):
        st.markdown(ui.escape_markdown(past.question))
    with st.chat_message("assistant"):
        show_answer(past, f"{st.session_state.chat}-{i}")

question = st.chat_input("Ask a question about the documents") or st.session_state.pop("pending", None)
if question:
    with st.chat_message("user"):
        st.markdown(ui.escape_markdown(question))
    with st.chat_message("assistant"):
        placeholder, streamed, final = st.empty(), "", None
        try:
            pieces = Library(settings).stream(question, [Library.turn_of(a) for a in answers], backend=backend, k=k,
                                              docs=chosen or None)
            with st.spinner("Searching the library…"):
                first = next(pieces)
            for piece in itertools.chain([first], pieces):
                if isinstance(piece, Answer):
                    final = piece
                else:
                    streamed += piece
                    placeholder.markdown(ui.escape_markdown(streamed) + " ▌")
        except StoreError as exc:
            placeholder.error(str(exc))
    if final is not None:
        answers.append(final)
        st.rerun()  # draw it like every earlier answer, and let the sidebar export include it
