"""Hostile files against the real ``ragchat ingest``: exit code, skip line, peak memory, seconds.

``python -m evals.hostile [--out DIR] [CASE ...]`` writes each case into its own folder beside a
good document, runs ``ragchat ingest`` on that folder in a fresh store, and prints one table row
per case: whether the run survived, what it said about the hostile file, the peak resident memory
of the whole process (embedding model included), the wall time, and whether the good document was
ingested too. Figures are printed, not asserted: they depend on the machine and its load. The
generators are also what ``tests/test_ingest_hostile.py`` builds its (smaller) cases with.

Nothing large is kept: the files are written under a temporary folder (200 MB at most at a time)
and removed after each case unless ``--keep``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOOD = ROOT / "data" / "corpus" / "004_7c390ca7a747a0fa.txt"
_PARAGRAPH = b"<w:p><w:r><w:t>The Torkham crossing reopened after talks in Kabul.</w:t></w:r></w:p>"


def docx_with_body(path: Path, write_body: Callable[[io.RawIOBase], None]) -> Path:
    """A .docx made by python-docx whose body is replaced by what ``write_body`` streams in
    (compressed as it is written, so a body of a gigabyte never sits in memory)."""
    import docx

    seed = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("seed")
    document.save(seed)
    source = zipfile.ZipFile(seed)
    xml = source.read("word/document.xml").decode()
    head = xml.split("<w:body>")[0] + "<w:body>"
    tail = "<w:sectPr" + xml.split("<w:sectPr", 1)[1]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            if item.filename != "word/document.xml":
                out.writestr(item, source.read(item.filename))
                continue
            with out.open(item.filename, "w", force_zip64=True) as body:
                body.write(head.encode())
                write_body(body)
                body.write(tail.encode())
    return path


def docx_text_node(path: Path, megabytes: int = 10) -> Path:
    """One paragraph whose single text node is ``megabytes`` MiB long (libxml2 refuses over 10 MB)."""
    mebibyte = b"word " * 209_715 + b"w"

    def body(out):
        out.write(b"<w:p><w:r><w:t>")
        for _ in range(megabytes):
            out.write(mebibyte)
        out.write(b"</w:t></w:r></w:p>")
    return docx_with_body(path, body)


def docx_bomb(path: Path, megabytes: int = 1000) -> Path:
    """About ``megabytes`` of short paragraphs that deflate to a few MB."""
    block = _PARAGRAPH * (1_000_000 // len(_PARAGRAPH))

    def body(out):
        for _ in range(megabytes):
            out.write(block)
    return docx_with_body(path, body)


def one_char_lines(path: Path, lines: int = 1_000_000) -> Path:
    path.write_bytes(b"a\n" * lines)
    return path


def line_without_spaces(path: Path, megabytes: int = 5) -> Path:
    path.write_bytes(b"x" * (megabytes * 1_000_000))
    return path


def huge_text(path: Path, megabytes: int = 200) -> Path:
    line = b"The Khyber Pass links Peshawar with Jalalabad; traders have used it for centuries.\n"
    block = line * (1_000_000 // len(line))
    with path.open("wb") as f:
        for _ in range(megabytes):
            f.write(block)
    return path


def many_pages_pdf(path: Path, pages: int = 2_500) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for n in range(pages):
        pdf.add_page()
        pdf.cell(0, 10, f"Page {n + 1} of a very long report.")
    pdf.output(str(path))
    return path


def dense_html(path: Path, megabytes: int = 20, element: str = "<p>a</p>") -> Path:
    """Markup packed with tiny elements: a parser that builds a tree needs about 150 times its size."""
    with path.open("w", encoding="utf-8") as f:
        f.write("<html><head><title>Dense</title></head><body>")
        for _ in range(megabytes):
            f.write(element * (1_000_000 // len(element)))
        f.write("</body></html>")
    return path


def links_and_hidden(folder: Path) -> Path:
    """A hidden file, a hidden folder, a link loop, a broken link and a link out to /etc/hostname."""
    (folder / ".secret.txt").write_text("A hidden note.\n", encoding="utf-8")
    (folder / ".git").mkdir()
    (folder / ".git" / "notes.txt").write_text("Inside a hidden folder.\n", encoding="utf-8")
    (folder / "loop").symlink_to(folder)
    (folder / "self.txt").symlink_to(folder / "self.txt")
    (folder / "gone.txt").symlink_to(folder / "missing.txt")
    (folder / "hostname.txt").symlink_to("/etc/hostname")
    return folder


def forged_names(folder: Path) -> Path:
    """Names that, printed raw, recolour the terminal or print a line that looks like ours."""
    (folder / "evil\x1b]0;pwned\x07\x1b[31mred.pdf").write_bytes(b"not a pdf")
    (folder / "FAKE.txt\nskipped good.txt: forged line.pdf").write_bytes(b"not a pdf")
    return folder


def cp1252_text(path: Path) -> Path:
    path.write_bytes("Caf\u00e9 talks in Peshawar: a na\u00efve \u201cr\u00e9sum\u00e9\u201d \u2013 "
                     "co\u00f6peration.\n".encode("cp1252"))
    return path


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], object]  # writes the hostile file(s) into the given folder


CASES = [
    Case("baseline (good file only)", lambda folder: None),
    Case("docx with a 10 MB text node", lambda folder: docx_text_node(folder / "node.docx")),
    Case("docx zip bomb (1 GB of paragraphs)", lambda folder: docx_bomb(folder / "bomb.docx")),
    Case("1,000,000 one-character lines", lambda folder: one_char_lines(folder / "lines.txt")),
    Case("one 5 MB line without spaces", lambda folder: line_without_spaces(folder / "nospace.txt")),
    Case("200 MB .txt", lambda folder: huge_text(folder / "huge.txt")),
    Case("PDF of 2,500 pages", lambda folder: many_pages_pdf(folder / "long.pdf")),
    Case("20 MB of dense HTML markup, no visible text",
         lambda folder: dense_html(folder / "dense.html", element='<div><span class="x"></span></div>')),
    Case("hidden files, link loop, link to /etc/hostname", links_and_hidden),
    Case("names with ANSI escapes and a newline", forged_names),
    Case("Windows-1252 text", lambda folder: cp1252_text(folder / "cp1252.txt")),
]


@dataclass(frozen=True)
class Run:
    exit_code: int
    lines: list[str]  # what the run said on stderr, progress bars left out
    peak_rss_mb: float
    seconds: float
    good_ingested: bool


def run_ingest(folder: Path, data_dir: Path, timeout: float, max_rss_mb: float, extra_env: dict[str, str]) -> Run:
    """``ragchat ingest folder`` in a fresh store; killed past ``timeout`` or ``max_rss_mb``."""
    env = {**os.environ, "RAGCHAT_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT), **extra_env}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ragchat.cli", "ingest", str(folder)], cwd=ROOT, env=env,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, start_new_session=True)
    err = bytearray()
    reader = threading.Thread(target=lambda: err.extend(proc.stderr.read()), daemon=True)
    reader.start()
    killed = ""
    while True:  # os.wait4, not Popen.poll: only wait4 gives this child's own peak memory
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG if not killed else 0)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            break
        if time.perf_counter() - started > timeout:
            killed = f"killed after {timeout:.0f} s"
        elif _rss_mb(proc.pid) > max_rss_mb:
            killed = f"killed above {max_rss_mb:.0f} MB"
        if killed:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            time.sleep(0.1)
    seconds = time.perf_counter() - started
    reader.join(timeout=5)
    lines = [line for line in err.decode("utf-8", "replace").replace("\r", "\n").split("\n")
             if line.strip() and "file/s" not in line and "it/s" not in line and "%|" not in line]
    if killed:
        lines.append(killed)
    stored = _stored_sources(data_dir, env) if not killed else []
    return Run(proc.returncode, lines, usage.ru_maxrss / 1024, seconds, GOOD.name in stored)


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _stored_sources(data_dir: Path, env: dict[str, str]) -> list[str]:
    status = subprocess.run([sys.executable, "-m", "ragchat.cli", "status", "--json"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    try:
        return [d["source"] for d in json.loads(status.stdout)["documents"]]
    except (ValueError, KeyError):
        return []


def prepare_scaling(base: Path) -> list[str]:
    """Seconds to load, clean and chunk texts of growing size (no embedding): linear or not."""
    from ingest.pipeline import prepare
    from ragchat.settings import Settings

    settings = Settings(data_dir=base / "scaling-data")
    prepare(GOOD, settings)  # tokenizer loaded before timing
    lines = ["| text | characters | chunks | seconds to prepare |", "| --- | --- | --- | --- |"]
    shapes = [(f"{n:,} one-character lines", lambda path, n=n: one_char_lines(path, n)) for n in (50_000, 100_000,
                                                                                                 200_000, 1_000_000)]
    shapes += [(f"{mb} MB line without spaces", lambda path, mb=mb: line_without_spaces(path, mb)) for mb in (1, 2, 5)]
    for label, make in shapes:
        path = make(base / "scaling.txt")
        started = time.perf_counter()
        prepared = prepare(path, settings)
        lines.append(f"| {label} | {len(prepared.text):,} | {len(prepared.chunks):,} | "
                     f"{time.perf_counter() - started:.1f} |")
        path.unlink()
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", help="substrings of case names to run (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="folder for the cases (default: a temporary one)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds before a run is killed")
    parser.add_argument("--max-rss-mb", type=float, default=4000, help="resident memory at which a run is killed")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--scaling", action="store_true", help="only time preparing texts of growing size")
    args = parser.parse_args(argv)
    base = args.out or Path(tempfile.mkdtemp(prefix="ragchat-hostile-"))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.scaling:
        print("\n".join(prepare_scaling(base)))
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return
    print("| case | exit | what the run said about it | peak RSS | seconds | good file ingested |")
    print("| --- | --- | --- | --- | --- | --- |")
    for number, case in enumerate(c for c in CASES if not args.cases or any(s in c.name for s in args.cases)):
        folder = base / f"case{number}" / "in"
        folder.mkdir(parents=True)
        shutil.copy(GOOD, folder / GOOD.name)
        case.make(folder)
        run = run_ingest(folder, base / f"case{number}" / "data", args.timeout, args.max_rss_mb, {})
        said = "<br>".join(line.replace("|", "\\|") for line in run.lines) or "(nothing)"
        print(f"| {case.name} | {run.exit_code} | {said} | {run.peak_rss_mb:,.0f} MB | {run.seconds:.1f} | "
              f"{'yes' if run.good_ingested else 'NO'} |", flush=True)
        if not args.keep:
            shutil.rmtree(base / f"case{number}", ignore_errors=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
