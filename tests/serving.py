"""Start `assistant serve` on a free port for tests, and talk to it."""
import contextlib
import os
import socket
import subprocess
import sys
import time

from built import build_once
from conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_index(corpus, index) -> None:
    """`assistant index` (the real model) for ``corpus`` into ``index``; files built before in this
    test run get a copy of that index (built.py)."""
    def build(folder):
        subprocess.run([sys.executable, "-m", "assistant.cli", "index", "--corpus", str(corpus), "--index",
                        str(folder)], check=True, cwd=ROOT, capture_output=True, timeout=900)
    build_once(corpus, index, build)


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
