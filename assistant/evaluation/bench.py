"""`assistant bench`: build, update, latency, memory and cold-start numbers on a scaled corpus.

The corpus is synthetic but shaped like the real problem: many fictive organisations, each with
variants of the five seed documents (names changed, paragraphs within a section reordered,
some dropped, sentences swapped in from the same section of another variant), so near-duplicates
compete as they do across real municipalities.
"""
from __future__ import annotations

import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from assistant.answer.assistant import Assistant
from assistant.config import Settings
from assistant.evaluation.evaluate import load_gold
from assistant.language.danish import Analyzer
from assistant.store.build import build_index
from assistant.store.embed import Embedder
from assistant.store.index import passage_text

TOWNS = ["Nordby", "Sønderå", "Østerlund", "Vesterhede", "Bakkeby", "Skovhøj", "Engstrup", "Fjordvig",
         "Kildebro", "Lyngdal", "Mosegård", "Strandlev", "Højmark", "Åbjerg", "Egeskov", "Birkerød Vest",
         "Rønnebæk", "Sandholm", "Tårnby Nord", "Vindeby"]
REAL = re.compile(r"Aalborg|Aarhus|Albertslund", re.I)


def fictive_name(i: int) -> str:
    base = TOWNS[i % len(TOWNS)]
    return base if i < len(TOWNS) else f"{base} {i // len(TOWNS) + 1}"


def variant(text: str, name: str, rng: random.Random, donor: str) -> str:
    """The document with the organisation renamed and its paragraphs reshuffled within sections."""
    text = REAL.sub(name, text)
    blocks = text.split("\n\n")
    donor_blocks = REAL.sub(name, donor).split("\n\n")
    out = blocks[:2]                                   # keep title and intro lines in place
    for b in blocks[2:]:
        r = rng.random()
        if r < 0.08:
            continue                                   # dropped
        if r < 0.20 and donor_blocks:
            b = rng.choice(donor_blocks)               # recombined from another variant
        lines = b.split("\n")
        if len(lines) > 2 and rng.random() < 0.5:
            head, rest = lines[:1], lines[1:]
            rng.shuffle(rest)
            lines = head + rest
        out.append("\n".join(lines))
    return "\n\n".join(out)


def make_corpus(seeds: Path, out: Path, n_orgs: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    docs = sorted(p for p in seeds.iterdir() if p.suffix in (".txt", ".md"))
    texts = {p: p.read_text(encoding="utf-8") for p in docs}
    out.mkdir(parents=True, exist_ok=True)
    for i in range(n_orgs):
        name = fictive_name(i)
        slug = re.sub(r"\W+", "-", name.lower()).strip("-")
        for p in docs:
            donor = texts[rng.choice(docs)]
            (out / f"{slug}-{p.stem}.txt").write_text(variant(texts[p], name, rng, donor), encoding="utf-8")
    return n_orgs * len(docs)


@dataclass
class LatencyRun:
    """200 warm questions through one runtime, with or without the stored candidate vectors."""
    label: str
    runtime: str
    stored_spans: bool
    p50_ms: float
    p95_ms: float
    p50_first_ms: float
    floor_ms: float
    x_floor: float
    stages_p50_ms: dict


@dataclass
class ColdRun:
    """Fresh processes: `assistant ask`, and `assistant serve` to its first answer and its memory."""
    runtime: str
    cold_ask_s: float
    cold_server_s: float | None
    serve_rss_mb: float | None       # the server process alone, after its answers (VmRSS)
    serve_peak_rss_mb: float | None  # its high-water mark (VmHWM)


@dataclass
class SizeResult:
    chunks: int
    documents: int
    build_s: float
    build_embed_s: float
    build_spans_s: float
    build_other_s: float
    build_chunks_per_s: float
    spans: int
    update_s: float
    update_spans_embedded: int
    runtime_chunks_per_s: dict       # passages/s of each runtime on the same sample of chunks
    runtime_min_cosine: float        # ONNX Runtime vs sentence-transformers on that sample
    latency: list
    cold: list
    rss_mb: float                    # the bench process (builds, both runtimes): not the server
    index_mb: float
    spans_mb: float
    hnsw_recall_at_10: float | None
    hnsw_p50_ms: float | None
    questions: int
    login_flood: dict | None = None  # chat answer ms idle and during ~50 failed log-ins a second (issue 35)


class TimedEmbedder:
    """Wraps an Embedder and adds up the seconds spent embedding chunks."""

    def __init__(self, inner):
        self.inner, self.seconds = inner, 0.0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed_passages(self, texts):
        t = time.perf_counter()
        try:
            return self.inner.embed_passages(texts)
        finally:
            self.seconds += time.perf_counter() - t


def _dir_mb(path: Path, glob: str = "*") -> float:
    return sum(f.stat().st_size for f in Path(path).rglob(glob) if f.is_file()) / 1e6


def _pct(values, q) -> float:
    return float(np.percentile(np.asarray(values), q))


def _env(runtime: str) -> dict:
    return {**os.environ, "ASSISTANT_RUNTIME": runtime}


def _cold_ask(index_dir: Path, runtime: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "assistant.cli", "ask", "hvad siger kodekset om sociale medier?",
                    "--index", str(index_dir)], check=True, capture_output=True, timeout=600, env=_env(runtime))
    return time.perf_counter() - t


def _proc_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


def _cold_server(index_dir: Path, runtime: str, questions: list[str]) -> tuple[float, float, float]:
    """Seconds from starting `assistant serve` to its first answer through the Gradio API; then its
    RSS and peak RSS (MB) after answering ``questions`` too."""
    import socket

    from gradio_client import Client
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--index", str(index_dir),
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=_env(runtime))
    try:
        while time.perf_counter() - t < 600:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("server exited during the cold-start measurement")
                time.sleep(0.1)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        client.predict("hvad siger kodekset om sociale medier?", [], "Alle", "Alle", {}, api_name="/ask")
        first = time.perf_counter() - t
        for q in questions:
            client.predict(q, [], "Alle", "Alle", {}, api_name="/ask")
        return first, _proc_mb(proc.pid, "VmRSS"), _proc_mb(proc.pid, "VmHWM")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def login_flood(url: str, question: str, rate: float = 50.0, asks: int = 7) -> dict:
    """Median chat answer time (ms) through the Gradio API, idle and while another client sends ``rate``
    failed log-ins a second without waiting for the answers (the first 50 are Argon2 checks, the rest are
    paused: one address): a password check must not hold the chat. The ratio is what to compare; the
    milliseconds move with the machine."""
    import re
    import statistics
    import threading

    import httpx
    from gradio_client import Client

    client = Client(url, verbose=False)

    def median_ms() -> float:
        times = []
        for _ in range(asks):
            t = time.perf_counter()
            client.predict(question, [], "Alle", "Alle", {}, api_name="/ask")
            times.append((time.perf_counter() - t) * 1000)
        return statistics.median(times)

    idle = median_ms()
    stop, sent, answered = threading.Event(), [0], [0]

    def flood():
        """Open loop: a new log-in request every 1/rate s, whether or not the earlier ones were answered
        (an attacker does not wait), from one client address."""
        import asyncio

        async def run():
            async with httpx.AsyncClient(base_url=url, follow_redirects=False, timeout=120,
                                         limits=httpx.Limits(max_connections=200)) as web:
                token = re.search(r'name="csrf" value="([^"]+)"', (await web.get("/login")).text).group(1)

                async def one(i):
                    try:
                        await web.post("/login", data={"csrf": token, "name": f"gaet{i % 1000}",
                                                       "password": "forkert-kodeord-123"})
                        answered[0] += 1
                    except httpx.HTTPError:
                        pass

                tasks, i, start = [], 0, time.perf_counter()
                while not stop.is_set():
                    tasks.append(asyncio.create_task(one(i)))
                    sent[0] += 1
                    i += 1
                    await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run(run())

    thread = threading.Thread(target=flood, daemon=True)
    thread.start()
    time.sleep(1.0)
    t0, n0, a0 = time.perf_counter(), sent[0], answered[0]
    busy = median_ms()
    elapsed = time.perf_counter() - t0
    per_s, answered_per_s = (sent[0] - n0) / elapsed, (answered[0] - a0) / elapsed
    stop.set()
    thread.join(timeout=30)
    return {"idle_ms": round(idle, 1), "flood_ms": round(busy, 1), "ratio": round(busy / idle, 2),
            "failed_logins_per_s": round(per_s, 1), "answered_per_s": round(answered_per_s, 1)}


def _flooded_server(index_dir: Path, question: str) -> dict:
    """`assistant serve` (ONNX Runtime) with an empty data folder, measured by ``login_flood``."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = Path(tempfile.mkdtemp(prefix="assistant-bench-data-"))
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--index", str(index_dir), "--port",
                             str(port), "--data", str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=_env("onnx"))
    try:
        deadline = time.perf_counter() + 600
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.perf_counter() > deadline:
                    raise RuntimeError("server did not start for the log-in flood measurement")
                time.sleep(0.1)
        return login_flood(f"http://127.0.0.1:{port}/", question)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


def _latency(label: str, assistant, embedder, questions: list[str], stored: bool) -> LatencyRun:
    assistant.use_stored_spans = stored
    index = assistant.index
    for q in questions[:5]:
        assistant.ask(q)                                  # warm-up
    assistant.span_vectors.clear()
    total, stages, floor, first = [], {}, [], []
    seen = set()
    for q in questions:
        tm: dict = {}
        assistant.embedder.clear()      # every question pays its embedding (the memo serves one scoped ask)
        t = time.perf_counter()
        assistant.ask(q, timings=tm)
        total.append((time.perf_counter() - t) * 1000)
        if q not in seen:                                  # first sight of the question
            seen.add(q)
            first.append(total[-1])
        for k, v in tm.items():
            stages.setdefault(k, []).append(v * 1000)
        t = time.perf_counter()                            # the floor: one embedding + exact search
        qv = embedder.embed_queries([q])[0]
        index.faiss_index.search(qv[None, :].astype(np.float32), 10)
        floor.append((time.perf_counter() - t) * 1000)
    p50 = _pct(total, 50)
    return LatencyRun(label, embedder.runtime, stored, round(p50, 1), round(_pct(total, 95), 1),
                      round(_pct(first, 50), 1), round(_pct(floor, 50), 1), round(p50 / _pct(floor, 50), 2),
                      {k: round(_pct(v, 50), 2) for k, v in stages.items()})


def _runtime_throughput(texts: list[str], embedders: dict) -> tuple[dict, float]:
    """Passages per second of each runtime on the same texts (length-sorted batches, as a build)."""
    order = sorted(texts, key=len)
    rates, vecs = {}, {}
    for name, emb in embedders.items():
        emb.embed_passages(order[:4])                      # load the model outside the timing
        t = time.perf_counter()
        vecs[name] = np.concatenate([emb.embed_passages(order[i:i + 32]) for i in range(0, len(order), 32)])
        rates[name] = round(len(order) / (time.perf_counter() - t), 1)
    a, b = vecs.values()
    return rates, round(float((a * b).sum(axis=1).min()), 6)


def bench_size(target_chunks: int, seeds: Path, workdir: Path, settings: Settings, embedders: dict,
               questions: list[str], cold: bool = True, log=print) -> SizeResult:

    embedder = embedders["onnx"]
    # the five seeds give about 65 chunks per organisation
    per_org = 61
    n_orgs = max(1, -(-target_chunks // per_org))
    corpus, index_dir = workdir / f"corpus-{target_chunks}", workdir / f"index-{target_chunks}"
    make_corpus(seeds, corpus, n_orgs)
    timed = TimedEmbedder(embedder)
    log(f"[{target_chunks}] building from {n_orgs * 5} documents …")
    t = time.perf_counter()
    summary = build_index(corpus, index_dir, timed, settings, Analyzer(), progress=False)
    build_s = time.perf_counter() - t
    embed_s = timed.seconds

    # incremental update: one document gets a new paragraph (after its intro: a paragraph appended
    # at the end would follow the site footer and be removed with it as site chrome)
    doc = sorted(corpus.iterdir())[0]
    blocks = doc.read_text(encoding="utf-8").split("\n\n")
    blocks.insert(2, "Et nyt afsnit om mødekultur og god tone.")
    doc.write_text("\n\n".join(blocks), encoding="utf-8")
    t = time.perf_counter()
    update = build_index(corpus, index_dir, timed, settings, Analyzer(), progress=False)
    update_s = time.perf_counter() - t

    log(f"[{target_chunks}] {summary.chunks} chunks built in {build_s:.1f} s (update {update_s:.1f} s); "
        "runtimes on a sample …")
    assistant = Assistant(settings, index_dir, embedder)
    index = assistant.index
    sample = [passage_text(index.documents[c.document], c) for c in index.chunks[::max(1, len(index.chunks) // 128)]]
    rates, min_cos = _runtime_throughput(sample[:128], embedders)

    log(f"[{target_chunks}] asking {len(questions)} questions per runtime …")
    latency = [_latency("onnx, stored candidates", assistant, embedder, questions, True),
               _latency("onnx, candidates on first sight", assistant, embedder, questions, False)]
    before = Assistant(settings, index_dir, embedders["torch"])
    latency.append(_latency("torch, candidates on first sight (before)", before, embedders["torch"], questions, False))

    hnsw_recall = hnsw_p50 = None
    try:
        import faiss
        qvecs = embedder.embed_queries(questions).astype(np.float32)
        exact_ids = [set(row) for row in np.argsort(-(qvecs @ index.vectors.T), axis=1)[:, :10]]
        h = faiss.IndexHNSWFlat(index.vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        h.hnsw.efSearch = 64
        h.add(index.vectors.astype(np.float32))
        times, approx = [], []
        for v in qvecs:
            t = time.perf_counter()
            approx.append(h.search(v[None, :], 10)[1][0])
            times.append((time.perf_counter() - t) * 1000)
        hnsw_recall = float(np.mean([len(set(a) & e) / 10 for a, e in zip(approx, exact_ids)]))
        hnsw_p50 = _pct(times, 50)
    except Exception as exc:                              # report, do not fail the whole bench
        log(f"[{target_chunks}] HNSW comparison skipped: {exc}")

    colds = []
    if cold:
        log(f"[{target_chunks}] latency done; HNSW recall@10 {hnsw_recall}; measuring cold starts …")
        for runtime in ("onnx", "torch"):
            ask_s = _cold_ask(index_dir, runtime)
            srv_s, rss, peak = _cold_server(index_dir, runtime, list(dict.fromkeys(questions))[:20])
            colds.append(ColdRun(runtime, round(ask_s, 2), round(srv_s, 2), round(rss, 1), round(peak, 1)))
        flood = _flooded_server(index_dir, questions[0])
        log(f"[{target_chunks}] chat under a failed log-in flood: {flood}")
    else:
        flood = None
    return SizeResult(
        chunks=summary.chunks, documents=len(summary.added) + len(summary.changed) + len(summary.unchanged),
        build_s=round(build_s, 2), build_embed_s=round(embed_s, 2), build_spans_s=round(summary.spans_seconds, 2),
        build_other_s=round(build_s - embed_s - summary.spans_seconds, 2),
        build_chunks_per_s=round(summary.chunks / build_s, 1), spans=summary.spans,
        update_s=round(update_s, 2), update_spans_embedded=update.spans_embedded,
        runtime_chunks_per_s=rates, runtime_min_cosine=min_cos,
        latency=[asdict(r) for r in latency], cold=[asdict(c) for c in colds],
        rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        index_mb=round(_dir_mb(index.path), 1), spans_mb=round(_dir_mb(index.path, "spans.*"), 1),
        hnsw_recall_at_10=round(hnsw_recall, 4) if hnsw_recall is not None else None,
        hnsw_p50_ms=round(hnsw_p50, 3) if hnsw_p50 is not None else None, questions=len(questions),
        login_flood=flood)


def bench_questions(n: int = 200) -> list[str]:
    gold = load_gold([Path("evals/dev.jsonl"), Path("evals/test.jsonl")])
    qs = [g.question for g in gold]
    out = []
    while len(out) < n:
        out += qs
    return out[:max(n, len(qs))]


def run(args) -> int:
    settings = Settings.from_env()
    sizes = args.chunks or [1000, 10000]
    if args.large:
        sizes = sorted(set(sizes) | {100_000})
    seeds = Path(args.seeds)
    if not seeds.is_dir():
        raise FileNotFoundError(f"seed corpus {seeds} not found")
    # the default runtime and the previous one (sentence-transformers on torch), side by side
    embedders = {"onnx": Embedder(settings, runtime="onnx"), "torch": Embedder(settings, runtime="torch")}
    questions = bench_questions(args.questions)
    log = (lambda m: print(m, file=sys.stderr))
    work = Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    try:
        for n in sizes:
            r = bench_size(n, seeds, work, settings, embedders, questions, cold=not args.no_cold, log=log)
            if args.json:
                print(json.dumps(asdict(r), ensure_ascii=False), flush=True)
            else:
                print(format_row(r), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept {work}")
    return 0


def format_row(r: SizeResult) -> str:
    lines = [f"chunks {r.chunks} ({r.documents} documents): build {r.build_s} s ({r.build_chunks_per_s} chunks/s; "
             f"chunk embedding {r.build_embed_s} s, {r.spans} candidate quotes {r.build_spans_s} s, rest {r.build_other_s} s), "
             f"update {r.update_s} s ({r.update_spans_embedded} candidates embedded); index {r.index_mb} MB "
             f"(candidates {r.spans_mb} MB); bench process peak RSS {r.rss_mb} MB",
             f"  passages/s on the same {128} chunks: {r.runtime_chunks_per_s}, min cosine onnx vs torch {r.runtime_min_cosine}",
             f"  HNSW recall@10 {r.hnsw_recall_at_10} at {r.hnsw_p50_ms} ms"]
    for x in r.latency:
        lines.append(f"  {x['label']}: p50 {x['p50_ms']} ms, p95 {x['p95_ms']} ms (p95/p50 "
                     f"{x['p95_ms'] / x['p50_ms']:.2f}), first sight of a question p50 {x['p50_first_ms']} ms, "
                     f"floor {x['floor_ms']} ms (p50/floor {x['x_floor']}), stages p50 {x['stages_p50_ms']}")
    if r.login_flood:
        f = r.login_flood
        lines.append(f"  chat answer p50 idle {f['idle_ms']} ms, during {f['failed_logins_per_s']} failed log-ins/s sent "
                     f"({f.get('answered_per_s')} answered/s) {f['flood_ms']} ms (ratio {f['ratio']})")
    for c in r.cold:
        lines.append(f"  {c['runtime']} cold: ask {c['cold_ask_s']} s, server to first answer {c['cold_server_s']} s, "
                     f"serving RSS {c['serve_rss_mb']} MB (peak {c['serve_peak_rss_mb']} MB)")
    return "\n".join(lines)
