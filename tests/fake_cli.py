"""`assistant …` with the fake embedder (fast, no model): python tests/fake_cli.py index --corpus … --index …"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakes import FakeEmbedder  # noqa: E402

import assistant.answer.assistant  # noqa: E402
import assistant.store.embed  # noqa: E402
from assistant.cli import main  # noqa: E402


def fake(settings=None, **_):
    return FakeEmbedder()


assistant.store.embed.Embedder = fake
assistant.answer.assistant.Embedder = fake

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
