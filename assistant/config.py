"""Settings: defaults, overridden by environment variables, overridden by CLI flags."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_MODEL = "multilingual-e5-small"

# Prefixes of models we know; any other model embeds raw text unless told otherwise.
KNOWN_PREFIXES = {
    DEFAULT_MODEL: ("query: ", "passage: "),
    "intfloat/multilingual-e5-small": ("query: ", "passage: "),
}


def _env(name: str, default=None):
    value = os.environ.get(name)
    return default if value is None or value == "" else value


@dataclass(frozen=True)
class Settings:
    """Everything that can be tuned, with the values the eval suite chose."""

    # embedding model: the default name, another known name, a hub name or a local path
    model: str = DEFAULT_MODEL
    query_prefix: str | None = None     # None: the model's known prefix, else ""
    passage_prefix: str | None = None
    model_cache: Path | None = None     # None: provision.default_cache_dir()
    # embedding runtime: "onnx" (ONNX Runtime, default model only), "torch" (sentence-transformers),
    # "auto": onnx for the default model, torch otherwise (docs/architecture.md, "The embedding model and runtime"); env ASSISTANT_RUNTIME
    runtime: str = "auto"
    # threads of one ONNX Runtime session, 0 for its default (one per core); env ASSISTANT_EMBED_THREADS
    embed_threads: int = 0
    # chunking (characters); compared on the dev split (docs/decisions.md, "Retrieval"); env ASSISTANT_CHUNK_CHARS
    chunk_chars: int = 900
    chunk_overlap: int = 1              # bullet items / paragraphs repeated from the previous chunk
    # retrieval
    rrf_k: int = 60
    fetch_depth: int = 50               # candidates fetched from each retriever before fusion
    ann: str = "flat"                   # "flat" (exact) or "hnsw"
    # abstention: how many of the best candidate quotes the confidence looks at (chosen on dev)
    confidence_spans: int = 3
    # paths
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    data_dir: Path = Path("data")

    def __post_init__(self):
        if self.runtime not in ("auto", "onnx", "torch"):
            raise ValueError(f"runtime must be 'auto', 'onnx' or 'torch', not {self.runtime!r} (ASSISTANT_RUNTIME)")
        if self.embed_threads < 0:
            raise ValueError("embed_threads must not be negative (ASSISTANT_EMBED_THREADS)")
        if self.ann not in ("flat", "hnsw"):
            raise ValueError(f"ann must be 'flat' or 'hnsw', not {self.ann!r}")
        if self.chunk_chars < 100:
            raise ValueError("chunk_chars must be at least 100")
        if self.confidence_spans < 1:
            raise ValueError("confidence_spans must be at least 1")

    @property
    def prefixes(self) -> tuple[str, str]:
        q, p = KNOWN_PREFIXES.get(self.model, ("", ""))
        return (q if self.query_prefix is None else self.query_prefix,
                p if self.passage_prefix is None else self.passage_prefix)

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        s = cls(
            model=_env("ASSISTANT_MODEL", DEFAULT_MODEL),
            query_prefix=_env("ASSISTANT_QUERY_PREFIX"),
            passage_prefix=_env("ASSISTANT_PASSAGE_PREFIX"),
            model_cache=Path(_env("ASSISTANT_MODEL_CACHE")) if _env("ASSISTANT_MODEL_CACHE") else None,
            runtime=_env("ASSISTANT_RUNTIME", "auto"),
            embed_threads=int(_env("ASSISTANT_EMBED_THREADS", cls.embed_threads)),
            ann=_env("ASSISTANT_ANN", "flat"),
            chunk_chars=int(_env("ASSISTANT_CHUNK_CHARS", cls.chunk_chars)),
            confidence_spans=int(_env("ASSISTANT_CONFIDENCE_SPANS", cls.confidence_spans)),
            data_dir=Path(_env("ASSISTANT_DATA", "data")),
        )
        overrides = {k: v for k, v in overrides.items() if v is not None}
        return replace(s, **overrides)
