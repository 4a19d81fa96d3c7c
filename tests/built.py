"""Indexes built once per test run and copied where a test needs one of the same files.

A build with the real model is deterministic (the same files give the same index, byte for byte), and
embedding the bundled documents again in every test module cost minutes. The pytest-xdist workers of
one run share the built indexes (conftest points ``CACHE`` at the run's shared temporary folder); one
lock per corpus makes the first worker build while the others wait for it.
"""
import contextlib
import fcntl
import hashlib
import os
import shutil
from pathlib import Path

CACHE: Path | None = None     # set once per test process by conftest (None: build every time)


def fingerprint(corpus) -> str:
    """The corpus's files, names and bytes (not its folder: an index does not depend on where it was)."""
    h = hashlib.sha256()
    for f in sorted(Path(corpus).rglob("*")):
        if f.is_file():
            h.update(str(f.relative_to(corpus)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:24]


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_once(corpus, index, build, model: str = "default") -> None:
    """``build(folder)`` builds an index of ``corpus`` with ``model`` into ``folder``. The first call for
    these files and model builds; later ones, in this process or another worker, copy that index to
    ``index``. An ``index`` that already holds an index is built into (an incremental update)."""
    index = Path(index)
    if CACHE is None or (index.exists() and any(index.iterdir())):
        build(index)
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    key = f"{model.replace('/', '_')}-{fingerprint(corpus)}"
    done = CACHE / key
    with _locked(CACHE / f"{key}.lock"):
        if not done.is_dir():
            tmp = CACHE / f"{key}.building-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            build(tmp)
            os.replace(tmp, done)
    shutil.copytree(done, index, symlinks=True, dirs_exist_ok=True)
