"""Start `assistant serve` on a free port for tests, and talk to it."""
import atexit
import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_BUILT: dict[str, Path] = {}       # corpus fingerprint -> an index `assistant index` built from it (this process)


def _fingerprint(corpus) -> str:
    h = hashlib.sha256()
    for f in sorted(Path(corpus).rglob("*")):
        if f.is_file():
            h.update(str(f.relative_to(corpus)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def build_index(corpus, index) -> None:
    """`assistant index` (the real model) for ``corpus`` into ``index``. A corpus of the same files as
    one built before in this test process gets a copy of that index (the build is deterministic and
    the copy byte for byte the same), so each server test does not embed the same documents again."""
    key, index = _fingerprint(corpus), Path(index)
    if key in _BUILT and (not index.exists() or not any(index.iterdir())):
        shutil.copytree(_BUILT[key], index, symlinks=True, dirs_exist_ok=True)
        return
    subprocess.run([sys.executable, "-m", "assistant.cli", "index", "--corpus", str(corpus), "--index", str(index)],
                   check=True, cwd=ROOT, capture_output=True, timeout=900)
    if key not in _BUILT:
        keep = Path(tempfile.mkdtemp(prefix="built-index-"))
        atexit.register(shutil.rmtree, keep, True)
        shutil.copytree(index, keep / "index", symlinks=True)
        _BUILT[key] = keep / "index"


@contextlib.contextmanager
def running_server(index, data=None, env=None, python_args=(), args=()):
    """`assistant serve` in a subprocess (``args``: more serve options); yields its URL once the port answers."""
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
    cmd = [sys.executable, *python_args, "-m", "assistant.cli", "serve", "--index", str(index), "--port", str(port)]
    if data:
        cmd += ["--data", str(data)]
    cmd += list(args)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("server exited:\n" + proc.stdout.read())
                if time.time() > deadline:
                    raise TimeoutError("server did not start")
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)          # (a server that many clients left connected to may take 30 s: docs/operations.md)
        except subprocess.TimeoutExpired:
            proc.kill()


def content_text(content) -> str:
    """A chat message's text (Gradio sends it as a string or as a list of typed parts)."""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def ask(client, question: str, org: str = "Alle", dtype: str = "Alle") -> str:
    """Ask through the Gradio API; the answer's messages joined."""
    chat = client.predict(question, [], org, dtype, {}, api_name="/ask")[0]
    last_user = max((i for i, m in enumerate(chat) if m["role"] == "user"), default=-1)
    return "\n\n".join(content_text(m["content"]) for m in chat[last_user + 1:])
