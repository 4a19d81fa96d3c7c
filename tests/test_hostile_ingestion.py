"""Hostile documents next to the seed corpus: each build runs in its own process (the fake embedder,
so the files are what costs) and must stay under 60 s and 2 GB, print no traceback, name the file
and the limit it hit, and index the rest of the corpus."""
import json
import shutil
import sys
from pathlib import Path

import hostile_files as hf
import pytest
from bounded import run_bounded
from conftest import CORPUS, ROOT
from fakes import make_pdf

FAKE_CLI = str(Path(__file__).parent / "fake_cli.py")
SEEDS = sorted(p.stem for p in CORPUS.iterdir())

CASES = hf.CASES   # the hostile_dir fixture (conftest.py) writes them once per session


def build(corpus, index, env=None):
    run = run_bounded([sys.executable, FAKE_CLI, "index", "--corpus", str(corpus), "--index", str(index), "--json"],
                      env=env, cwd=ROOT)
    run.check_bounded()
    assert run.returncode == 0, run.stderr
    return run, json.loads(run.stdout)


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_file_is_refused_within_bounds_and_the_rest_is_indexed(case, hostile_dir, tmp_path):
    fname, _, limit, env = CASES[case]
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    shutil.copy(hostile_dir / fname, corpus / fname)
    run, summary = build(corpus, tmp_path / "index", env)
    print(f"{case}: {run.seconds:.1f} s, peak {run.peak_mb:.0f} MB")
    assert set(SEEDS) <= set(summary["added"])                         # the rest of the corpus is indexed
    reasons = {s["path"]: s["reason"] for s in summary["skipped"]}
    if limit:
        assert limit in reasons[fname], reasons                         # named with the limit it hit
    else:
        assert fname in reasons or Path(fname).stem in summary["added"]
    from assistant.store.index import Index
    index = Index.load(tmp_path / "index")
    assert all(len(h) <= 200 for c in index.chunks for h in c.headings)


def test_refusals_are_printed_with_file_and_limit(hostile_dir, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    shutil.copy(hostile_dir / "sider.pdf", corpus / "sider.pdf")
    run = run_bounded([sys.executable, FAKE_CLI, "index", "--corpus", str(corpus), "--index", str(tmp_path / "i")],
                      cwd=ROOT)
    run.check_bounded()
    assert "skipped sider.pdf: PDF has more than 2000 pages (ASSISTANT_PDF_PAGES)" in run.stdout


def test_page_at_is_a_bisection():
    from assistant.types import Document
    starts = tuple(range(0, 10 * 100_000, 10))
    doc = Document("d", "d.pdf", "x" * 10 * 100_000, "T", "O", "politik", None, starts)
    assert [doc.page_at(o) for o in (0, 9, 10, 999_999)] == [1, 1, 2, 100_000]
    import time
    t = time.perf_counter()
    for o in range(0, 1_000_000, 100):
        doc.page_at(o)
    assert time.perf_counter() - t < 1.0          # 10 000 lookups in 100 000 pages: linear would take minutes


def test_full_disk_during_a_build_ends_in_one_message_and_keeps_the_old_index(tmp_path):
    import resource
    import signal
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    index = tmp_path / "index"
    build(corpus, index)
    before = {p.name: p.read_bytes() for p in (index / "current").resolve().iterdir() if p.is_file()}
    (corpus / "ny.txt").write_text("Ny politik\n\nVi cykler til arbejde.\n", encoding="utf-8")

    def disk_full():                      # files may not grow past 20 KB: writes fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    run = run_bounded([sys.executable, FAKE_CLI, "index", "--corpus", str(corpus), "--index", str(index)],
                      cwd=ROOT, preexec_fn=disk_full)
    run.check_bounded()
    assert run.returncode == 2
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: Could not write the new index version"), run.stderr
    assert "previous index is unchanged" in lines[0]
    after = {p.name: p.read_bytes() for p in (index / "current").resolve().iterdir() if p.is_file()}
    assert after == before and not list(index.glob(".tmp-*"))


# sidecar contents that are not metadata: (contents or writer, what the refusal must name or None when
# the document is indexed with the field unknown)
HOSTILE_SIDECARS = {
    "tal": ("5", "must be a JSON object"),
    "null": ("null", "must be a JSON object"),
    "organisation-null": ('{"organisation": null}', None),
    "titel-tal": ('{"title": 123}', "field 'title' must be text, not int"),
    "dato-liste": ('{"date": ["2020"]}', "field 'date' must be text, not list"),
    "titel-5mb": (lambda: json.dumps({"title": "Titel " * (5 * 2**20 // 6)}), "field 'title' is longer than"),
    "dyb-json": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "ikke-utf8": (b'{"title": "\xff\xfe"}', "is not valid JSON"),
    "symlink-ud": ("symlink", "is a symlink out of the corpus folder"),
}


def test_hostile_sidecars_are_refused_or_recorded_unknown_with_file_and_field(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    outside = tmp_path / "udenfor.meta.json"
    outside.write_text('{"title": "Hemmelig titel uden for korpusset"}', encoding="utf-8")
    for n, (stem, (content, _)) in enumerate(HOSTILE_SIDECARS.items()):
        (corpus / f"{stem}.txt").write_text(f"Regler for kage nummer {n}\n\nVi spiser {n + 2} slags kage om "
                                            f"fredagen i kantine {stem}.\n", encoding="utf-8")
        side = corpus / f"{stem}.meta.json"
        if content == "symlink":
            side.symlink_to(outside)
        elif isinstance(content, bytes):
            side.write_bytes(content)
        else:
            side.write_text(content() if callable(content) else content, encoding="utf-8")
    run, summary = build(corpus, tmp_path / "index")
    assert set(SEEDS) <= set(summary["added"])
    reasons = {s["path"]: s["reason"] for s in summary["skipped"]}
    unknown = {u["path"]: u["fields"] for u in summary["unknown"]}
    for stem, (_, refusal) in HOSTILE_SIDECARS.items():
        if refusal:
            reason = reasons.get(f"{stem}.txt", "")
            assert f"{stem}.meta.json" in reason and refusal in reason, (stem, reason)
            assert "\n" not in reason and len(reason) < 300, (stem, reason)
        else:
            assert f"{stem}.txt" in unknown and "organisation" in unknown[f"{stem}.txt"], (stem, summary["unknown"])
    from assistant.store.index import Index
    index = Index.load(tmp_path / "index")
    assert not any("Hemmelig" in d.title for d in index.documents.values())


def test_a_pdf_slow_within_one_page_is_refused_on_upload_at_the_time_limit(tmp_path, monkeypatch):
    """20,000 drawn rectangles on one page keep the reader busy for seconds inside that page, where
    the extractor's own page-by-page deadline cannot stop it; the upload probe's timer does."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    from assistant.web.uploads import UploadError, store_new
    slow = tmp_path / "slow.pdf"
    c = canvas.Canvas(str(slow), pagesize=A4)
    c.drawString(60, 800, "Retningslinjer for gaver")
    for i in range(20_000):
        c.rect(50 + i % 400, 50 + (i // 400) % 700, 1, 1)
    c.showPage()
    c.save()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    monkeypatch.setenv("ASSISTANT_PDF_SECONDS", "1")
    with pytest.raises(UploadError, match="longer than 1 s"):
        store_new(corpus, slow.read_bytes(), "pdf")
    assert not any(corpus.iterdir())                          # nothing kept, no probe file left
    fast = tmp_path / "fast.pdf"
    make_pdf(fast, [["Retningslinjer for gaver", "Gaver under 300 kr. må modtages."]])
    assert store_new(corpus, fast.read_bytes(), "pdf").exists()
