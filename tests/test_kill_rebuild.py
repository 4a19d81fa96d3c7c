"""SIGKILL `assistant index` at 20+ points of a rebuild: the previous index keeps serving."""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import CORPUS, ROOT
from serving import ask, build_index, running_server

from assistant.answer.assistant import Assistant
from assistant.ingest.corpus import load_corpus
from assistant.store.index import Index, resolve_current

QUESTION = "hvad siger kodekset om sociale medier?"
QUOTE = "Vi taler og skriver ordentligt til, om og med hinanden"
POINTS = 20


def index_cmd(corpus, index):
    return [sys.executable, "-m", "assistant.cli", "index", "--corpus", str(corpus), "--index", str(index)]


def touch_all(corpus, n):
    """Change every document so that a rebuild re-embeds and rewrites everything: a new edition in each
    title (the title is part of every passage's embedded text). A line appended to every file would not
    do: the same line in every document is boilerplate, and unchanged passages keep their vectors."""
    for doc, _ in load_corpus(CORPUS)[0]:
        side = corpus / f"{doc.id}.meta.json"
        side.write_text(json.dumps({"title": f"{doc.title} (udgave {n})"}, ensure_ascii=False), encoding="utf-8")


@pytest.mark.kill
@pytest.mark.long
def test_sigkill_during_rebuild_never_breaks_the_index(tmp_path, e5_embedder):
    from gradio_client import Client
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(CORPUS, corpus)
    build_index(corpus, index)

    # how long an uninterrupted full rebuild takes: kill points are spread over it
    touch_all(corpus, 0)
    t = time.perf_counter()
    subprocess.run(index_cmd(corpus, index), check=True, cwd=ROOT, capture_output=True, timeout=900)
    run_s = time.perf_counter() - t

    alone = Assistant(index_dir=index, embedder=e5_embedder)
    with running_server(index, data=tmp_path / "data") as url:
        errors, served = [], []
        stop = threading.Event()

        def keep_asking():                      # a user who keeps asking during all of it
            client = Client(url, verbose=False)
            while not stop.is_set():
                try:
                    served.append(QUOTE in ask(client, QUESTION))
                except Exception as exc:        # noqa: BLE001 - any failure is the finding
                    errors.append(repr(exc))
                time.sleep(0.2)

        asker = threading.Thread(target=keep_asking, daemon=True)
        asker.start()
        outcomes = []
        for i in range(1, POINTS + 1):
            before_version = resolve_current(index)
            before_answer = alone.ask(QUESTION).text
            touch_all(corpus, i)
            proc = subprocess.Popen(index_cmd(corpus, index), cwd=ROOT, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            time.sleep(run_s * i / (POINTS + 1))
            finished = proc.poll() is not None
            if not finished:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            after = resolve_current(index)
            Index.load(index)                                        # the index loads
            if after == before_version:
                assert alone.ask(QUESTION).text == before_answer, f"answer changed after kill {i}"
            outcomes.append("killed, old index" if after == before_version else
                            ("finished before the kill" if finished else "killed after the switch"))
            if i % 5 == 0:                                           # the next run completes and tidies up
                done = subprocess.run(index_cmd(corpus, index), cwd=ROOT, capture_output=True, text=True,
                                      timeout=900)
                assert done.returncode == 0, done.stderr
                assert not list(index.glob(".tmp-*")), "temporary build folders left behind"
                assert resolve_current(index) != before_version
        stop.set()
        asker.join(timeout=120)
    print(f"\nkill points over a {run_s:.1f} s rebuild: " +
          ", ".join(f"{o}: {outcomes.count(o)}" for o in sorted(set(outcomes))))
    assert outcomes.count("killed, old index") >= POINTS // 2
    assert not errors, errors[:3]
    assert served and all(served), "the server answered without the quote during a rebuild"
