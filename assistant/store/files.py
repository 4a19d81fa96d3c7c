"""Reading an index version from disk, checking every file before anything uses it.

A version directory is written by ``index._write_version`` and never changed afterwards,
but disks, copies and people damage files. Each reader here checks what it reads (JSON
shapes and types, array shapes, counts that must agree between files) and raises
``IndexDamaged`` naming the file, the line when there is one, and what is wrong, so
``assistant ask`` prints one clear line, the server keeps its last good version and
``assistant index`` builds a fresh version beside the damaged one.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

DOCUMENT_FIELDS = {"id": str, "path": str, "text": str, "title": str, "organisation": str,
                   "doc_type": str, "date": (str, type(None)), "page_starts": list,
                   "date_phrase": (str, type(None)), "org_aliases": list}
# optional: indexes written before visibility existed have no such field (their documents are public)
OPTIONAL_DOCUMENT_FIELDS = {"visibility": str, "language": str}   # language: detected since 2026-12
VISIBILITIES = ("offentlig", "intern")
CHUNK_FIELDS = {"id": str, "document": str, "start": int, "end": int, "text": str,
                "headings": list, "page": (int, type(None))}
MANIFEST_FIELDS = {"schema_version": int, "model": str, "dim": int, "chunking": dict, "analyzer": dict,
                   "ann": str, "documents": dict, "chunks": int}


class IndexDamaged(RuntimeError):
    """A file of the index version is missing, unreadable or disagrees with the others."""

    def __init__(self, root: Path, what: str):
        self.what = what
        super().__init__(f"The index in {root} is damaged: {what}. "
                         f"Rebuild it (a fresh version is built beside it): assistant index --index {root}")


def resolve(link: Path) -> Path:
    """The target of the ``current`` link (raises IndexDamaged on a symlink loop)."""
    try:
        return link.resolve(strict=False)
    except (RuntimeError, OSError) as exc:      # RuntimeError: symlink loop (Python < 3.13)
        raise IndexDamaged(link.parent, f"{link.name} is a symlink loop ({type(exc).__name__})") from exc


def _type_name(t) -> str:
    return " or ".join(x.__name__.replace("NoneType", "null") for x in (t if isinstance(t, tuple) else (t,)))


def _check_fields(root: Path, where: str, row, fields: dict, optional: dict | None = None) -> None:
    if not isinstance(row, dict):
        raise IndexDamaged(root, f"{where} is a JSON {type(row).__name__}, not an object")
    optional = optional or {}
    missing, extra = set(fields) - set(row), set(row) - set(fields) - set(optional)
    for name, t in optional.items():
        if name in row and not isinstance(row[name], t):
            raise IndexDamaged(root, f"{where}: field {name!r} is {type(row[name]).__name__}, not {_type_name(t)}")
    if missing or extra:
        raise IndexDamaged(root, f"{where} has " + "; ".join(
            ([f"missing fields {sorted(missing)}"] if missing else []) + ([f"unknown fields {sorted(extra)}"] if extra else [])))
    for name, t in fields.items():
        value = row[name]
        if not isinstance(value, t) or (isinstance(value, bool) and t is int):
            raise IndexDamaged(root, f"{where}: field {name!r} is {type(value).__name__}, not {_type_name(t)}")


def read_manifest(root: Path, version: Path) -> dict:
    try:
        manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexDamaged(root, f"{version.name}/manifest.json is missing") from exc
    except (OSError, ValueError) as exc:
        raise IndexDamaged(root, f"{version.name}/manifest.json is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict):
        raise IndexDamaged(root, f"{version.name}/manifest.json is a JSON {type(manifest).__name__}, not an object")
    return manifest


def check_manifest(root: Path, version: Path, manifest: dict) -> None:
    """Field types (after the schema version was found to match)."""
    where = f"{version.name}/manifest.json"
    for name, t in MANIFEST_FIELDS.items():
        if name not in manifest:
            raise IndexDamaged(root, f"{where} has no {name!r}")
        if not isinstance(manifest[name], t) or isinstance(manifest[name], bool):
            raise IndexDamaged(root, f"{where}: {name!r} is {type(manifest[name]).__name__}, not {_type_name(t)}")
    if manifest["dim"] <= 0:
        raise IndexDamaged(root, f"{where}: 'dim' is {manifest['dim']}")
    for doc_id, info in manifest["documents"].items():
        if not (isinstance(info, dict) and isinstance(info.get("sha256"), str) and isinstance(info.get("path"), str)
                and isinstance(info.get("chunks"), int)):
            raise IndexDamaged(root, f"{where}: document {doc_id!r} needs 'path', 'sha256' and 'chunks'")


def _jsonl(root: Path, path: Path):
    try:
        f = open(path, encoding="utf-8")
    except FileNotFoundError as exc:
        raise IndexDamaged(root, f"{path.parent.name}/{path.name} is missing") from exc
    except OSError as exc:
        raise IndexDamaged(root, f"{path.parent.name}/{path.name} is unreadable ({exc.strerror})") from exc
    with f:
        try:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    yield n, json.loads(line)
                except ValueError as exc:
                    raise IndexDamaged(root, f"{path.parent.name}/{path.name} line {n} is not valid JSON") from exc
        except UnicodeDecodeError as exc:
            raise IndexDamaged(root, f"{path.parent.name}/{path.name} is not UTF-8 text") from exc


def read_documents(root: Path, version: Path, manifest: dict) -> list[dict]:
    rows, seen = [], set()
    for n, row in _jsonl(root, version / "documents.jsonl"):
        where = f"{version.name}/documents.jsonl line {n}"
        _check_fields(root, where, row, DOCUMENT_FIELDS, OPTIONAL_DOCUMENT_FIELDS)
        if row.get("visibility", "offentlig") not in VISIBILITIES:
            raise IndexDamaged(root, f"{where}: 'visibility' is {row['visibility']!r}, not one of {list(VISIBILITIES)}")
        ps = row["page_starts"]
        if any(not isinstance(p, int) or isinstance(p, bool) for p in ps) or ps != sorted(ps):
            raise IndexDamaged(root, f"{where}: 'page_starts' is not an ascending list of offsets")
        if not all(isinstance(a, str) for a in row["org_aliases"]):
            raise IndexDamaged(root, f"{where}: 'org_aliases' is not a list of strings")
        if row["id"] in seen:
            raise IndexDamaged(root, f"{where}: document {row['id']!r} appears twice")
        seen.add(row["id"])
        rows.append(row)
    listed = set(manifest["documents"])
    if seen != listed:
        absent, unlisted = sorted(listed - seen), sorted(seen - listed)
        what = (f"documents.jsonl lacks {len(absent)} document(s) the manifest lists ({', '.join(absent[:3])})"
                if absent else f"documents.jsonl has document(s) the manifest does not list ({', '.join(unlisted[:3])})")
        raise IndexDamaged(root, f"{version.name}/{what}")
    return rows


def read_chunks(root: Path, version: Path, manifest: dict, texts: dict[str, str]) -> list[dict]:
    rows = []
    per_doc: dict[str, int] = {}
    for n, row in _jsonl(root, version / "chunks.jsonl"):
        where = f"{version.name}/chunks.jsonl line {n}"
        _check_fields(root, where, row, CHUNK_FIELDS)
        if not all(isinstance(h, str) for h in row["headings"]):
            raise IndexDamaged(root, f"{where}: 'headings' is not a list of strings")
        text = texts.get(row["document"])
        if text is None:
            raise IndexDamaged(root, f"{where} names document {row['document']!r}, which is not in documents.jsonl")
        if not (0 <= row["start"] <= row["end"] <= len(text)) or text[row["start"]:row["end"]] != row["text"]:
            raise IndexDamaged(root, f"{where}: the chunk's offsets do not match its document's text")
        per_doc[row["document"]] = per_doc.get(row["document"], 0) + 1
        rows.append(row)
    if len(rows) != manifest["chunks"]:
        raise IndexDamaged(root, f"{version.name}/chunks.jsonl has {len(rows)} chunks, the manifest says {manifest['chunks']}")
    for doc_id, info in manifest["documents"].items():
        if per_doc.get(doc_id, 0) != info["chunks"]:
            raise IndexDamaged(root, f"{version.name}/chunks.jsonl has {per_doc.get(doc_id, 0)} chunks of {doc_id!r}, "
                                     f"the manifest says {info['chunks']}")
    return rows


def read_organisations(root: Path, version: Path, names: set[str]) -> dict[str, list[str]]:
    """organisations.json: canonical name -> its aliases, one entry for each organisation of the documents."""
    path = version / "organisations.json"
    where = f"{version.name}/organisations.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexDamaged(root, f"{where} is missing") from exc
    except (OSError, ValueError) as exc:      # UnicodeDecodeError is a ValueError
        raise IndexDamaged(root, f"{where} is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise IndexDamaged(root, f"{where} is a JSON {type(data).__name__}, not an object")
    for name, aliases in data.items():
        if not (isinstance(aliases, list) and all(isinstance(a, str) for a in aliases)):
            raise IndexDamaged(root, f"{where}: the aliases of {name!r} are not a list of strings")
    if set(data) != names:
        absent, unknown = sorted(names - set(data)), sorted(set(data) - names)
        raise IndexDamaged(root, f"{where} " + (f"lacks organisation(s) of documents.jsonl ({', '.join(absent[:3])})"
                                                if absent else
                                                f"names organisation(s) no document has ({', '.join(unknown[:3])})"))
    return data


def read_vectors(root: Path, version: Path, n: int, dim: int) -> np.ndarray:
    path = version / "vectors.npy"
    try:
        vectors = np.load(path, allow_pickle=False)
    except FileNotFoundError as exc:
        raise IndexDamaged(root, f"{version.name}/vectors.npy is missing") from exc
    except (OSError, ValueError, EOFError) as exc:   # empty, truncated, random bytes (NumPy says "pickled data")
        size = path.stat().st_size if path.exists() else 0
        raise IndexDamaged(root, f"{version.name}/vectors.npy is not a NumPy array file ({size} bytes)") from exc
    if vectors.ndim != 2 or vectors.dtype != np.float32 or vectors.shape != (n, dim):
        raise IndexDamaged(root, f"{version.name}/vectors.npy holds a {vectors.dtype} array of shape {vectors.shape}, "
                                 f"expected float32 ({n}, {dim}) for {n} chunks")
    if not np.isfinite(vectors).all():
        raise IndexDamaged(root, f"{version.name}/vectors.npy holds NaN or infinite values")
    return vectors


SPAN_KEYS, SPAN_VECTORS = "spans.keys.npy", "spans.vectors.npy"


def _npy_header(root: Path, path: Path):
    """(shape, dtype, data offset) of a .npy file, read without loading the array."""
    where = f"{path.parent.name}/{path.name}"
    try:
        with open(path, "rb") as f:
            fmt = np.lib.format
            major = fmt.read_magic(f)[0]
            read_header = fmt.read_array_header_1_0 if major == 1 else fmt.read_array_header_2_0
            shape, fortran, dtype = read_header(f)
            offset = f.tell()
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise IndexDamaged(root, f"{where} is missing") from exc
    except (OSError, ValueError, EOFError, SyntaxError) as exc:
        size = path.stat().st_size if path.exists() else 0
        raise IndexDamaged(root, f"{where} is not a NumPy array file ({size} bytes)") from exc
    if fortran or dtype.hasobject:
        raise IndexDamaged(root, f"{where} is not a plain C-ordered array")
    if size != offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
        raise IndexDamaged(root, f"{where} has {size - offset} bytes of data, its header says {shape} {dtype}")
    return shape, dtype, offset


def read_spans(root: Path, version: Path, dim: int | None):
    """The candidate quotes' stored vectors: (keys, memory-mapped vectors), or None when the version
    has neither file (the store is optional: a text not found in it is embedded on first sight).

    ``spans.keys.npy`` holds sorted distinct uint64 keys, ``spans.vectors.npy`` float32 [n, 2, dim]
    without NaN or infinities; the vectors are checked by reading the file in blocks, so the check
    does not keep them in the process's memory."""
    keys_path, vec_path = version / SPAN_KEYS, version / SPAN_VECTORS
    if not keys_path.exists() and not vec_path.exists() and not keys_path.is_symlink() \
            and not vec_path.is_symlink():
        return None
    kshape, kdtype, _ = _npy_header(root, keys_path)
    vshape, vdtype, voffset = _npy_header(root, vec_path)
    if kdtype != np.uint64 or len(kshape) != 1:
        raise IndexDamaged(root, f"{version.name}/{SPAN_KEYS} holds a {kdtype} array of shape {kshape}, "
                                 "expected uint64 (n,)")
    n = kshape[0]
    if vdtype != np.float32 or len(vshape) != 3 or vshape[0] != n or vshape[1] != 2 or (n and dim is not None and vshape[2] != dim):
        raise IndexDamaged(root, f"{version.name}/{SPAN_VECTORS} holds a {vdtype} array of shape {vshape}, "
                                 f"expected float32 ({n}, 2, {dim or 'dim'}) for {n} keys")
    try:
        keys = np.load(keys_path, allow_pickle=False)
        vectors = np.load(vec_path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise IndexDamaged(root, f"{version.name}/spans files are unreadable ({type(exc).__name__})") from exc
    if n > 1 and not bool(np.all(keys[1:] > keys[:-1])):
        raise IndexDamaged(root, f"{version.name}/{SPAN_KEYS} is not sorted without repeats")
    block = 1 << 20                                   # floats per read: 4 MB
    with open(vec_path, "rb") as f:
        f.seek(voffset)
        while True:
            data = np.fromfile(f, dtype=np.float32, count=block)
            if not len(data):
                break
            if not np.isfinite(data).all():
                raise IndexDamaged(root, f"{version.name}/{SPAN_VECTORS} holds NaN or infinite values")
    return keys, vectors


def read_faiss(root: Path, version: Path, ids: np.ndarray, dim: int):
    import faiss
    path = version / "dense.faiss"
    if not path.is_file():
        raise IndexDamaged(root, f"{version.name}/dense.faiss is missing")
    try:
        index = faiss.read_index(str(path))
    except Exception as exc:  # noqa: BLE001 - faiss raises RuntimeError with C++ text
        raise IndexDamaged(root, f"{version.name}/dense.faiss is unreadable") from exc
    if index.d != dim or index.ntotal != len(ids):
        raise IndexDamaged(root, f"{version.name}/dense.faiss holds {index.ntotal} vectors of dimension {index.d}, "
                                 f"expected {len(ids)} of dimension {dim}")
    try:
        stored = np.sort(faiss.vector_to_array(index.id_map))
    except AttributeError as exc:
        raise IndexDamaged(root, f"{version.name}/dense.faiss has no chunk ids") from exc
    if not np.array_equal(stored, np.sort(ids)):
        raise IndexDamaged(root, f"{version.name}/dense.faiss has ids that do not match chunks.jsonl")
    return index


def read_bm25(root: Path, version: Path, n: int):
    if n == 0:
        return None
    import bm25s
    folder = version / "bm25"
    try:
        bm25 = bm25s.BM25.load(str(folder), load_corpus=False, show_progress=False)
        scores = bm25.scores
        data, indices, indptr = (np.asarray(scores[k]) for k in ("data", "indices", "indptr"))
        ok = (scores.get("num_docs") == n and len(indptr) >= len(bm25.vocab_dict) > 0 and len(data) == len(indices)
              and indptr[0] == 0 and indptr[-1] == len(data) and bool(np.all(np.diff(indptr) >= 0))
              and (len(indices) == 0 or (0 <= indices.min() and indices.max() < n)))
    except Exception as exc:  # noqa: BLE001 - bm25s reads JSON and .npy files; any failure means damage
        raise IndexDamaged(root, f"{version.name}/bm25 is unreadable ({type(exc).__name__})") from exc
    if not ok:
        raise IndexDamaged(root, f"{version.name}/bm25 arrays do not agree with each other or with {n} chunks")
    return bm25
