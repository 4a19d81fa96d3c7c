"""Which text extractor keeps the development corpus's answers: PDF readers and trafilatura settings.

For every PDF (and HTML page) of evals/devcorpus, the extracted text is searched for the gold answer
texts that cite that document (case, punctuation and line-end hyphenation ignored). Used for
the choice of pypdf and of trafilatura's settings (docs/ingestion.md). The alternatives are not
dependencies of the assistant; install them beside it to run this:

    pip install --target /tmp/pdfx pypdfium2 pdfplumber
    PYTHONPATH=/tmp/pdfx .venv/bin/python evals/tools/compare_extractors.py
"""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from assistant.evaluation.evaluate import load_gold  # noqa: E402

CORPUS = ROOT / "evals" / "devcorpus"


def norm(text: str) -> str:
    text = re.sub(r"(\w)-\s*\n\s*(\w)", r"\1\2", text)
    return re.sub(r"\W+", " ", text.lower()).strip()


def answers_of(path: Path, gold) -> list[str]:
    return [t for g in gold for d, t in g.relevant if d and (d in path.stem or path.stem in d)]


def pypdf_text(path: Path) -> str:
    from pypdf import PdfReader
    return "\n".join(p.extract_text() or "" for p in PdfReader(str(path)).pages)


def pypdfium2_text(path: Path) -> str:
    import pypdfium2 as pdfium
    pdf = pdfium.PdfDocument(str(path))
    return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))


def pdfplumber_text(path: Path) -> str:
    import pdfplumber
    with pdfplumber.open(str(path)) as pdf:
        return "\n".join(p.extract_text() or "" for p in pdf.pages)


def trafilatura_text(**settings):
    import trafilatura

    from assistant.ingest import load

    def extract(path: Path) -> str:
        original = trafilatura.extract

        def patched(html, **kw):
            kw.pop("favor_recall", None)
            kw.pop("include_tables", None)
            return original(html, **{"include_tables": True, **kw, **settings})
        trafilatura.extract = patched
        try:
            return load.html_to_text(path.read_text(encoding="utf-8", errors="replace"))
        finally:
            trafilatura.extract = original
    return extract


def measure(name: str, files: list[Path], extract, gold) -> None:
    found = total = 0
    start = time.perf_counter()
    for f in files:
        text = norm(extract(f))
        for answer in answers_of(f, gold):
            total += 1
            found += norm(answer) in text
    print(f"{name:40} gold answers found {found}/{total}  {time.perf_counter() - start:5.1f} s  ({len(files)} files)")


def main() -> None:
    gold = load_gold([CORPUS / "gold.jsonl"])
    pdfs = sorted(CORPUS.rglob("*.pdf"))
    for name, fn in (("pypdf (used)", pypdf_text), ("pypdfium2", pypdfium2_text), ("pdfplumber", pdfplumber_text)):
        try:
            measure(name, pdfs, fn, gold)
        except ImportError as exc:
            print(f"{name:40} not installed ({exc.name})")
    pages = sorted(p for p in CORPUS.rglob("*.htm*"))
    for name, settings in (("trafilatura favor_recall (used)", {"favor_recall": True}),
                           ("trafilatura default", {}),
                           ("trafilatura favor_precision", {"favor_precision": True}),
                           ("trafilatura favor_recall, no tables", {"favor_recall": True, "include_tables": False})):
        measure(name, pages, trafilatura_text(**settings), gold)


if __name__ == "__main__":
    main()
