"""The ONNX Runtime path against the sentence-transformers reference, and what the question path imports."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import CORPUS, ROOT

from assistant.config import Settings
from assistant.store.build import build_index
from assistant.store.embed import Embedder
from assistant.store.index import Index, passage_text

GOLD = [ROOT / "evals" / "dev.jsonl", ROOT / "evals" / "test.jsonl"]


def eval_questions():
    rows = [json.loads(line) for f in GOLD for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows]


@pytest.fixture(scope="module")
def real_index(tmp_path_factory):
    """The seed corpus indexed with the default runtime (ONNX Runtime)."""
    root = tmp_path_factory.mktemp("onnx-index")
    embedder = Embedder(Settings())
    assert embedder.runtime == "onnx"
    build_index(CORPUS, root, embedder, Settings(), progress=False)
    return root, embedder


def test_onnx_matches_sentence_transformers_on_every_eval_question(real_index):
    root, embedder = real_index
    index = Index.load(root)
    reference = embedder.reference_encoder()
    questions = eval_questions()
    assert len(questions) >= 130
    passages = [passage_text(index.documents[c.document], c) for c in index.chunks]
    q_onnx = embedder.embed_queries(questions)
    q_ref = reference.encode(["query: " + q for q in questions])
    p_ref = reference.encode(["passage: " + p for p in passages])
    for name, a, b in (("questions", q_onnx, q_ref), ("chunks", index.vectors, p_ref)):
        cos = (a * b).sum(axis=1)
        assert cos.min() >= 0.9999, f"{name}: cosine {cos.min():.6f}"
    top_onnx = np.argsort(-(q_onnx @ index.vectors.T), axis=1, kind="stable")[:, :10]
    top_ref = np.argsort(-(q_ref @ p_ref.T), axis=1, kind="stable")[:, :10]
    differ = [q for q, a, b in zip(questions, top_onnx, top_ref) if list(a) != list(b)]
    assert not differ, f"top-10 differs for {len(differ)} questions, e.g. {differ[:3]}"


def test_stored_candidate_vectors_match_the_reference(real_index):
    root, embedder = real_index
    index = Index.load(root)
    store = index.spans
    assert store is not None and len(store) > 100
    from assistant.store.spans import chunk_span_texts
    texts = chunk_span_texts(index.chunks)[:64]
    got = store.get(texts)
    assert set(got) == set(texts)
    reference = embedder.reference_encoder()
    for mode, prefix in ((0, "passage: "), (1, "query: ")):
        ref = reference.encode([prefix + t for t in texts])
        ours = np.stack([got[t][mode] for t in texts])
        assert (ours * ref).sum(axis=1).min() >= 0.9999


def _run(code: str, env_extra: dict | None = None) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


HEAVY = ("torch", "sentence_transformers", "transformers")


def test_ask_never_imports_torch(real_index):
    root, _ = real_index
    out = _run(
        "import sys, contextlib, io\n"
        "from assistant.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as buf:\n"
        f"    rc = main(['ask', 'hvad siger kodekset om sociale medier?', '--index', {str(root)!r}])\n"
        "assert rc == 0 and 'sociale medier' in buf.getvalue(), buf.getvalue()\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    assert out.strip() == "[]"


def test_help_imports_nothing_heavy():
    out = _run(
        "import sys, contextlib, io\n"
        "from assistant.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        f"print(sorted(m for m in {HEAVY + ('numpy', 'onnxruntime', 'faiss', 'gradio')!r} if m in sys.modules))\n")
    assert out.strip() == "[]"


def test_runtime_is_validated():
    with pytest.raises(ValueError, match="runtime must be"):
        Settings(runtime="tensorflow")
    with pytest.raises(ValueError, match="use ASSISTANT_RUNTIME=torch"):
        Embedder(Settings(model="all-MiniLM-L6-v2", runtime="onnx"))
    assert Embedder(Settings(model="all-MiniLM-L6-v2")).runtime == "torch"
    assert Embedder(Settings(runtime="torch")).runtime == "torch"


def test_embedding_threads_come_from_the_environment_and_give_the_same_vectors(e5_embedder, monkeypatch):
    monkeypatch.setenv("ASSISTANT_EMBED_THREADS", "1")
    assert Settings.from_env().embed_threads == 1
    with pytest.raises(ValueError, match="embed_threads must not be negative"):
        Settings(embed_threads=-1)
    one = Embedder(Settings(embed_threads=1)).embed_queries(["må man tage imod gaver?"])
    np.testing.assert_allclose(one, e5_embedder.embed_queries(["må man tage imod gaver?"]), atol=1e-5)


def test_latin_tokenizer_gives_the_full_tokenizers_ids(e5_embedder):
    import random

    from tokenizers import Tokenizer

    from assistant.store.embed import OnnxEncoder

    encoder = OnnxEncoder(e5_embedder.encoder._dir)
    danish = eval_questions() + [line for f in sorted(CORPUS.glob("*.txt"))
                                 for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    ours = encoder.token_ids(danish + ["tak 😀👍🏽 ✔ → ≥ ★"])
    assert encoder._full is None                      # Danish text (and emoji) never needs the full vocabulary
    danish.append("tak 😀👍🏽 ✔ → ≥ ★")
    rng = random.Random(17)
    latin = [chr(c) for c in [*range(0x20, 0x250), *range(0x1E00, 0x1F00), *range(0x2000, 0x2070),
                              *range(0x2190, 0x2200), *range(0x2600, 0x2700), *range(0x1F600, 0x1F650)]]
    other = [chr(c) for c in [*range(0x370, 0x3FF), *range(0x4E00, 0x4E40), *range(0x0600, 0x0620),
                              *range(0xFB00, 0xFB07), *range(0xFF01, 0xFF20), 0x3000, 0x2160, 0x212B]]
    mixed = ["ﬁnansiering ½ – “citat” … €100 ™", "日本語 og dansk", "Привет verden", "emoji 😀👍🏽 tekst ✔ →",
             "\x00\x01 kontrol\u200b", "a\u0301 e\u0308 İ ǅ ẞ", "مرحبا", "x" * 3000]
    mixed += ["".join(rng.choice(latin) if rng.random() > 0.03 else rng.choice(other)
                      for _ in range(rng.randint(1, 40))) for _ in range(3000)]
    ours += encoder.token_ids(mixed)
    full = Tokenizer.from_file(str(encoder._dir / "tokenizer.json"))
    full.enable_truncation(encoder.max_length)
    reference = [e.ids for e in full.encode_batch(danish + mixed)]
    differ = [t for t, a, b in zip(danish + mixed, ours, reference) if a != b]
    assert not differ, differ[:3]
