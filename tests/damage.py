"""Every kind of index damage seen so far, as functions that damage a version directory in place."""
import json
import os
from pathlib import Path

import numpy as np


def _rewrite_jsonl(path: Path, change) -> None:
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in change(rows)), encoding="utf-8")


def _chunk0(change):
    def f(rows):
        change(rows[0])
        return rows
    return f


def _manifest(v: Path, change) -> None:
    m = json.loads((v / "manifest.json").read_text(encoding="utf-8"))
    (v / "manifest.json").write_text(json.dumps(change(m)), encoding="utf-8")


def _nan_span(v: Path) -> None:
    vectors = np.load(v / "spans.vectors.npy")
    vectors[len(vectors) // 2, 1, 0] = np.nan
    np.save(v / "spans.vectors.npy", vectors)


DAMAGE = {
    "empty vectors.npy": lambda v: (v / "vectors.npy").write_bytes(b""),
    "random bytes in vectors.npy": lambda v: (v / "vectors.npy").write_bytes(os.urandom(5000)),
    "vectors.npy of the wrong shape": lambda v: np.save(v / "vectors.npy", np.zeros((3, 7), np.float32)),
    "chunk without headings": lambda v: _rewrite_jsonl(v / "chunks.jsonl", _chunk0(lambda c: c.pop("headings"))),
    "chunk with an extra field": lambda v: _rewrite_jsonl(v / "chunks.jsonl", _chunk0(lambda c: c.update(x=1))),
    "non-object line in chunks.jsonl": lambda v: _rewrite_jsonl(v / "chunks.jsonl", lambda rows: [5] + rows[1:]),
    "invalid JSON in chunks.jsonl": lambda v: (v / "chunks.jsonl").write_text("{not json\n", encoding="utf-8"),
    "manifest without dim": lambda v: _manifest(v, lambda m: {k: x for k, x in m.items() if k != "dim"}),
    "manifest that is a list": lambda v: _manifest(v, lambda m: [m]),
    "manifest not JSON": lambda v: (v / "manifest.json").write_text("{", encoding="utf-8"),
    "empty BM25 array": lambda v: np.save(v / "bm25" / "data.csc.index.npy", np.zeros(0, np.float32)),
    "empty BM25 file": lambda v: (v / "bm25" / "indices.csc.index.npy").write_bytes(b""),
    "empty documents.jsonl": lambda v: (v / "documents.jsonl").write_text("", encoding="utf-8"),
    "chunks naming a missing document": lambda v: _rewrite_jsonl(
        v / "chunks.jsonl", _chunk0(lambda c: c.update(document="findes-ikke"))),
    "truncated dense.faiss": lambda v: (v / "dense.faiss").write_bytes((v / "dense.faiss").read_bytes()[:100]),
    "missing dense.faiss": lambda v: (v / "dense.faiss").unlink(),
    "missing organisations.json": lambda v: (v / "organisations.json").unlink(),
    "organisations.json not JSON": lambda v: (v / "organisations.json").write_text("{", encoding="utf-8"),
    "organisations.json without an organisation of the documents": lambda v: (v / "organisations.json").write_text(
        json.dumps(dict(list(json.loads((v / "organisations.json").read_text(encoding="utf-8")).items())[1:])),
        encoding="utf-8"),
    "organisations.json with aliases that are not text": lambda v: (v / "organisations.json").write_text(
        json.dumps({k: [1] for k in json.loads((v / "organisations.json").read_text(encoding="utf-8"))}),
        encoding="utf-8"),
    "empty spans.vectors.npy": lambda v: (v / "spans.vectors.npy").write_bytes(b""),
    "missing spans.vectors.npy": lambda v: (v / "spans.vectors.npy").unlink(),
    "random bytes in spans.keys.npy": lambda v: (v / "spans.keys.npy").write_bytes(os.urandom(5000)),
    "truncated spans.vectors.npy": lambda v: (v / "spans.vectors.npy").write_bytes(
        (v / "spans.vectors.npy").read_bytes()[:-1000]),
    "spans.vectors.npy of the wrong shape": lambda v: np.save(v / "spans.vectors.npy", np.zeros((3, 2, 7), np.float32)),
    "spans.keys.npy not sorted": lambda v: np.save(v / "spans.keys.npy", np.load(v / "spans.keys.npy")[::-1].copy()),
    "NaN in spans.vectors.npy": lambda v: _nan_span(v),
    "current pointing at itself": None,      # a symlink loop: see point_current_at_itself
}


def point_current_at_itself(root: Path) -> None:
    tmp = root / ".tmp-loop"
    os.symlink("current", tmp)
    os.replace(tmp, root / "current")


def point_current_at(root: Path, name: str) -> None:
    tmp = root / ".tmp-link-test"
    if tmp.is_symlink():
        tmp.unlink()
    os.symlink(name, tmp)
    os.replace(tmp, root / "current")


def damage(root: Path, kind: str) -> None:
    """Damage the version ``current`` points at (or the link itself)."""
    if DAMAGE[kind] is None:
        point_current_at_itself(root)
    else:
        DAMAGE[kind]((root / "current").resolve())
