"""The benchmark for analysts: run it with progress, or read the last run's numbers and answers.

It calls the same ``evals.runner.run`` as ``ragchat eval`` and reads the files that writes, so
the page, the CLI and the HTML report always agree.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from chatbot import backends
from chatbot.ui import rendering as ui
from evals.metrics import METRICS
from evals.questions import QUESTIONS
from evals.report import load_last
from evals.runner import run
from ragchat.settings import Settings

st.set_page_config(page_title="ragchat · Evaluation", page_icon="📊", layout="wide")
with st.sidebar:
    st.page_link("app.py", label="Chat", icon=":material/forum:")
    st.page_link("pages/evaluation.py", label="Evaluation", icon=":material/monitoring:")

settings = Settings.from_env()
st.title("Evaluation")
st.caption(f"{ui.escape_markdown(str(QUESTIONS.name))}: questions with known answers and sources, "
           "including ones the documents cannot answer, scored on retrieval, answers, refusals and citations.")
out_dir = Path(st.text_input("Report folder", str(settings.data_dir / "eval")))

left, right = st.columns([1, 3])
names = backends.names()
backend = left.selectbox("Backend", names, index=names.index(settings.answer.backend) if settings.answer.backend in names else 0,
                         format_func=lambda b: backends.get(b).label)
baseline = left.checkbox("Also run the naive baseline", value=True)
if left.button("Run the benchmark", type="primary", icon=":material/play_arrow:"):
    bar = right.progress(0.0, text="Starting…")
    try:
        run(settings, QUESTIONS, out_dir, backend=backend, baseline=baseline,
            progress=lambda done, total: bar.progress(done / max(total, 1), text=f"{done} of {total} questions"))
        bar.progress(1.0, text="Done")
    except Exception as exc:  # a bad question file or unreachable store: show it, keep the last report
        right.error(f"The run stopped: {exc}")

last = load_last(out_dir)
if last is None:
    st.info(f"No report in {ui.escape_markdown(str(out_dir))} yet: run the benchmark above, or `ragchat eval --out` this folder.")
    st.stop()

summary = last.summary
systems = [s for s in (summary.system, summary.baseline) if s is not None]
st.subheader(f"Last run: {summary.started} · {summary.question_count} questions · {summary.duration_s:.0f} s")
for note in summary.notes:
    st.caption(f":material/info: {ui.escape_markdown(note)}")

st.dataframe([{"Metric": m.label, **{s.name: s.metrics.get(m.key) for s in systems}, "About": m.help} for m in METRICS],
             hide_index=True, width="stretch")
shares = [m for m in METRICS if not m.unit]
chart_left, chart_right = st.columns(2)
chart_left.caption("Scores (higher is better except false refusals)")
chart_left.bar_chart({s.name: {m.label: s.metrics.get(m.key) or 0.0 for m in shares} for s in systems}, stack=False,
                     horizontal=True)
chart_right.caption("Pass rate by question type")
chart_right.bar_chart({s.name: s.pass_rate_by_type for s in systems}, stack=False)

st.subheader("Per question")
only_failed = st.toggle("Only failed questions")
rows = [{"Id": r["id"], "Type": r["type"], "Passed": r["scores"]["passed"], "Question": r["question"],
         "Answer": r["answer"]["answer"],
         "Citations": "; ".join(f"[{c['n']}] {c['source']}: {c['quote']}" for c in r["answer"]["citations"])}
        for r in last.rows if not (only_failed and r["scores"]["passed"])]
st.dataframe(rows, hide_index=True, width="stretch",
             column_config={"Passed": st.column_config.CheckboxColumn(width="small"),
                            "Answer": st.column_config.TextColumn(width="large")})
if last.report_path.is_file():
    st.download_button("Download the HTML report", last.report_path.read_bytes(), "report.html", "text/html",
                       icon=":material/download:")
