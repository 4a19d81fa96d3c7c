import os
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # one embedding thread per process (the servers and builds a test starts inherit it): with one
    # worker per core, ONNX Runtime's default of one thread per core in every process oversubscribes
    os.environ.setdefault("ASSISTANT_EMBED_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session", autouse=True)
def _shared_indexes(tmp_path_factory):
    """Indexes built once per run (built.py), in the folder the run's workers share (pytest-xdist gives
    each worker its own folder inside it)."""
    import built
    base = tmp_path_factory.getbasetemp()
    built.CACHE = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "built-indexes"


@pytest.fixture(scope="session")
def bundled_assistant(tmp_path_factory, e5_embedder):
    """A function that gives an Assistant over a fresh copy of the bundled corpus's index (real model)."""
    def make(name="index"):
        from built import build_once

        from assistant.answer.assistant import Assistant
        index = tmp_path_factory.mktemp(name)
        build_once(CORPUS, index, lambda folder: Assistant(index_dir=folder, embedder=e5_embedder).build(CORPUS),
                   e5_embedder.model_id)
        return Assistant(index_dir=index, embedder=e5_embedder)
    return make


@pytest.fixture(scope="session")
def e5_embedder():
    """The real default model (converted once per machine into the user cache), with the settings of
    the environment (a test worker's ASSISTANT_EMBED_THREADS)."""
    from assistant.config import Settings
    from assistant.store.embed import Embedder
    return Embedder(Settings.from_env())


@pytest.fixture(scope="session")
def hostile_dir(tmp_path_factory):
    """The hostile documents of tests/hostile_files.py, written once per session."""
    import hostile_files
    d = tmp_path_factory.mktemp("hostile-files")
    for fname, write, _, _ in hostile_files.CASES.values():
        write(d / fname)
    return d


def pytest_collection_modifyitems(items):
    """Tests marked ``long`` first (stable otherwise): with one worker per core, the longest files
    start at once instead of last."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
