"""`assistant …` with the fake embedder (fast, no model): python tests/fake_cli.py index --corpus … --index …"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import assistant.embed  # noqa: E402
import assistant.pipeline  # noqa: E402
from assistant.cli import main  # noqa: E402
from fakes import FakeEmbedder  # noqa: E402


def fake(settings=None, **_):
    return FakeEmbedder()


assistant.embed.Embedder = fake
assistant.pipeline.Embedder = fake

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
