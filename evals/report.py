"""The evaluation report: one self-contained HTML file (inline CSS and SVG, no scripts, no network).

It must open from a CI artefact or an e-mail attachment years later, so nothing is fetched; and
answers quote documents verbatim, so every piece of question, answer and document text goes
through ``html.escape`` before it reaches the page.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from evals.metrics import METRICS, Metric
from evals.summary import Summary, SystemRun

_SYSTEM_COLOUR, _BASELINE_COLOUR = "#2b6cb0", "#a0aec0"
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#1a202c}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #e2e8f0}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #e2e8f0;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f7fafc}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.better{color:#276749}.worse{color:#c53030}.note{background:#fffbea;border-left:4px solid #ecc94b;padding:6px 10px;margin:6px 0}
.pass{background:#c6f6d5;color:#22543d}.fail{background:#fed7d7;color:#822727}.badge{padding:1px 6px;border-radius:3px;font-weight:600}
.muted{color:#718096}.small{font-size:12px}details summary{cursor:pointer}blockquote{margin:2px 0 2px 8px;color:#4a5568}
.charts{display:flex;flex-wrap:wrap;gap:24px}.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}
"""


@dataclass
class LastRun:
    """What ``run()`` left in an output folder, for showing without re-running."""

    summary: Summary
    rows: list[dict]  # the parsed lines of results.jsonl
    report_path: Path


def load_last(out_dir: str | Path) -> LastRun | None:
    """The run saved in ``out_dir``, or None when no complete run is there yet."""
    out = Path(out_dir)
    summary_path, results_path = out / "summary.json", out / "results.jsonl"
    if not (summary_path.is_file() and results_path.is_file()):
        return None
    summary = Summary.from_json(json.loads(summary_path.read_text(encoding="utf-8")))
    rows = [json.loads(line) for line in results_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return LastRun(summary, rows, out / "report.html")


def write_report(summary: Summary, rows: Sequence[dict], path: Path) -> None:
    path.write_text(render(summary, rows), encoding="utf-8")


def render(summary: Summary, rows: Sequence[dict]) -> str:
    systems = [summary.system] + ([summary.baseline] if summary.baseline else [])
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>ragchat evaluation {escape(summary.started)}</title><style>{_CSS}</style></head><body>",
        "<h1>ragchat evaluation</h1>",
        f"<p>{summary.question_count} questions from <code>{escape(summary.questions_file)}</code>; "
        f"backend <b>{escape(summary.backend)}</b>; started {escape(summary.started)}, took {summary.duration_s:g} s.</p>",
        *(f'<div class=note>{escape(n)}</div>' for n in summary.notes),
        "<h2>Metrics</h2>", _metric_table(summary),
        "<h2>Charts</h2>", _legend(systems), "<div class=charts>",
        _bar_chart("Metrics (share of questions, higher is better except false refusals)",
                   [m.label for m in METRICS if not m.unit], [[s.metrics.get(m.key) for m in METRICS if not m.unit] for s in systems]),
        _bar_chart("Pass rate per question type", *_by_type(systems)),
        "</div><h2>Latency per question</h2><div class=charts>",
        *(_histogram(f"{s.name} (ms)", [r[key]["scores"]["latency_ms"] if key else r["scores"]["latency_ms"] for r in rows], colour)
          for s, key, colour in zip(systems, ["", "baseline"], [_SYSTEM_COLOUR, _BASELINE_COLOUR])),
        "</div><h2>Questions</h2>", _question_table(rows, summary.baseline is not None),
        "</body></html>",
    ]
    return "\n".join(parts)


# -- tables ----------------------------------------------------------------------------------
def _metric_table(summary: Summary) -> str:
    base = summary.baseline
    head = f"<tr><th>Metric</th><th>{escape(summary.system.name)} (k={summary.system.k})</th>"
    if base:
        head += f"<th>{escape(base.name)} (k={base.k})</th><th>Difference</th>"
    head += "<th>What it measures</th></tr>"
    body = []
    for m in METRICS:
        value = summary.system.metrics.get(m.key)
        cells = f"<td>{escape(m.label)}</td><td class=num>{_fmt(m, value)}</td>"
        if base:
            other = base.metrics.get(m.key)
            cells += f"<td class=num>{_fmt(m, other)}</td><td class=num>{_difference(m, value, other)}</td>"
        body.append(f"<tr>{cells}<td class='muted small'>{escape(m.help)}</td></tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _question_table(rows: Sequence[dict], with_baseline: bool) -> str:
    head = "<tr><th>Id</th><th>Question</th><th>Expected</th><th>ragchat</th>"
    head += "<th>Baseline</th></tr>" if with_baseline else "</tr>"
    body = []
    for r in rows:
        question = escape(r["question"])
        if r.get("follows"):
            question += f'<div class="muted small">follows {escape(r["follows"])}</div>'
        kind = escape(r.get("type") or ("answerable" if r["answerable"] else "unanswerable"))
        expected = _expected(r)
        cells = (f'<td id="{escape(r["id"])}"><b>{escape(r["id"])}</b><div class="muted small">{kind}</div></td>'
                 f"<td>{question}</td><td class=small>{expected}</td>"
                 f"<td>{_answer_cell(r['answer'], r['scores'], r['answerable'])}</td>")
        if with_baseline and "baseline" in r:
            cells += f"<td>{_answer_cell(r['baseline']['answer'], r['baseline']['scores'], r['answerable'])}</td>"
        body.append(f"<tr>{cells}</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _expected(row: dict) -> str:
    """Gold sources, answer keys and reference answer: what a pass needed, next to what was said."""
    if not row["answerable"]:
        return '<span class=muted>a refusal (the documents do not answer it)</span>'
    keys = " <b>and</b> ".join(" / ".join(f"<code>{escape(option)}</code>" for option in group) for group in row.get("must", []))
    reference = f"<div class=muted>{escape(row['reference'])}</div>" if row.get("reference") else ""
    return "<br>".join(escape(s) for s in row["sources"]) + (f"<div>keys: {keys}</div>" if keys else "") + reference


def _answer_cell(answer: dict, scores: dict, answerable: bool) -> str:
    badge = '<span class="badge pass">pass</span>' if scores["passed"] else '<span class="badge fail">fail</span>'
    facts = [f"{scores['latency_ms']:.0f} ms"]
    if answer["abstained"]:
        facts.append("refused" if not answerable else "refused an answerable question")
    elif not answerable:
        facts.append("answered a question the documents do not answer")
    if scores.get("hit_at_k") is not None:
        facts.append("gold retrieved" if scores["hit_at_k"] else "gold not retrieved")
    if scores.get("citation_recall") is not None:
        facts.append(f"cit. recall {scores['citation_recall']:.2f}, precision {scores['citation_precision']:.2f}")
    text = answer["answer"] or "(empty)"
    shown = escape(text) if len(text) <= 400 else \
        f"<details><summary>{escape(text[:300])}…</summary>{escape(text)}</details>"
    citations = "".join(
        f"<div class=small>[{c['n']}] <b>{escape(c['source'])}</b> support {c['support']:.2f}"
        f"<blockquote>{escape(c['quote'][:300])}{'…' if len(c['quote']) > 300 else ''}</blockquote></div>"
        for c in answer["citations"])
    retrieved = ", ".join(escape(r["source"]) for r in answer["retrieved"])
    return (f"{badge} <span class='muted small'>{escape('; '.join(facts))}</span><div>{shown}</div>{citations}"
            f"<div class='muted small'>retrieved: {retrieved or 'nothing'}</div>")


def _fmt(metric: Metric, value: float | None) -> str:
    if value is None:
        return '<span class=muted>n/a</span>'
    return f"{value:,.0f} ms" if metric.unit == "ms" else f"{value:.3f}"


def _difference(metric: Metric, value: float | None, other: float | None) -> str:
    if value is None or other is None:
        return ""
    delta = value - other
    if abs(delta) < 1e-9:
        return "="
    better = (delta > 0) == metric.higher_is_better
    shown = f"{delta:+,.0f} ms" if metric.unit == "ms" else f"{delta:+.3f}"
    return f'<span class={"better" if better else "worse"}>{shown}</span>'


# -- charts (inline SVG) -----------------------------------------------------------------------
def _legend(systems: Sequence[SystemRun]) -> str:
    colours = [_SYSTEM_COLOUR, _BASELINE_COLOUR]
    return "<div class=legend>" + "".join(
        f'<span style="background:{c}"></span>{escape(s.name)}' for s, c in zip(systems, colours)) + "</div>"


def _by_type(systems: Sequence[SystemRun]) -> tuple[list[str], list[list[float | None]]]:
    types = list(systems[0].pass_rate_by_type)
    return types, [[s.pass_rate_by_type.get(t) for t in types] for s in systems]


def _bar_chart(title: str, labels: Sequence[str], series: Sequence[Sequence[float | None]]) -> str:
    """Horizontal grouped bars of values in [0, 1], one bar per system per label."""
    bar, gap, left, width = 14, 10, 170, 300
    group = bar * len(series) + gap
    height = 30 + group * len(labels)
    out = [f'<figure><figcaption>{escape(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" '
           f'width="{left + width + 60}" height="{height}" role="img">']
    for i, label in enumerate(labels):
        y = 20 + i * group
        out.append(f'<text x="{left - 6}" y="{y + bar * len(series) / 2 + 4}" text-anchor="end" font-size="12">{escape(label)}</text>')
        for j, values in enumerate(series):
            value = values[i]
            w = 0 if value is None else max(0.0, min(1.0, value)) * width
            yy = y + j * bar
            out.append(f'<rect x="{left}" y="{yy}" width="{w:.1f}" height="{bar - 2}" fill="{[_SYSTEM_COLOUR, _BASELINE_COLOUR][j]}"/>')
            out.append(f'<text x="{left + w + 4:.1f}" y="{yy + bar - 4}" font-size="11">{"n/a" if value is None else f"{value:.2f}"}</text>')
    out.append(f'<line x1="{left}" y1="12" x2="{left}" y2="{height - 6}" stroke="#718096"/></svg></figure>')
    return "".join(out)


def _histogram(title: str, values: Sequence[float], colour: str, bins: int = 12) -> str:
    if not values:
        return ""
    low, high = min(values), max(values)
    step = (high - low) / bins or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - low) / step))] += 1
    left, width, height, top = 40, 360, 160, 20
    column = width / bins
    tallest = max(counts)
    out = [f'<figure><figcaption>{escape(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" '
           f'width="{left + width + 20}" height="{height + top + 40}" role="img">']
    for i, n in enumerate(counts):
        h = n / tallest * height
        x = left + i * column
        out.append(f'<rect x="{x:.1f}" y="{top + height - h:.1f}" width="{column - 2:.1f}" height="{h:.1f}" fill="{colour}">'
                   f'<title>{low + i * step:.0f}–{low + (i + 1) * step:.0f} ms: {n}</title></rect>')
        if n:
            out.append(f'<text x="{x + column / 2:.1f}" y="{top + height - h - 3:.1f}" font-size="10" text-anchor="middle">{n}</text>')
    axis = top + height
    out.append(f'<line x1="{left}" y1="{axis}" x2="{left + width}" y2="{axis}" stroke="#718096"/>')
    for frac in (0, 0.5, 1):
        out.append(f'<text x="{left + frac * width:.1f}" y="{axis + 16}" font-size="11" text-anchor="middle">'
                   f'{low + frac * (high - low):,.0f}</text>')
    out.append(f'<text x="{left + width / 2}" y="{axis + 34}" font-size="11" text-anchor="middle">milliseconds; '
               f'bar height = number of questions</text></svg></figure>')
    return "".join(out)
