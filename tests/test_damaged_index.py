"""Every kind of index damage: `assistant ask` prints one clear line (no traceback), and
`assistant index` builds a fresh version beside the damaged one, after which ask answers.
Fake embedder (tests/fake_cli.py); the running server's side is in test_hostile_server.py."""
import shutil
import sys
from pathlib import Path

import pytest
from bounded import run_bounded
from conftest import CORPUS, ROOT
from damage import DAMAGE, damage

FAKE_CLI = str(Path(__file__).parent / "fake_cli.py")


def cli(*args):
    run = run_bounded([sys.executable, FAKE_CLI, *map(str, args)], cwd=ROOT)
    run.check_bounded()
    return run


@pytest.fixture(scope="module")
def good_index(tmp_path_factory):
    root = tmp_path_factory.mktemp("good")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    assert cli("index", "--corpus", corpus, "--index", root / "index").returncode == 0
    return root


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_damaged_index_one_line_then_index_repairs_it(kind, good_index, tmp_path):
    corpus, index = good_index / "corpus", tmp_path / "index"
    shutil.copytree(good_index / "index", index, symlinks=True)
    damage(index, kind)

    ask = cli("ask", "hvad siger kodekset om sociale medier?", "--index", index)
    lines = [ln for ln in ask.stderr.splitlines() if ln.strip()]
    assert ask.returncode == 2 and len(lines) == 1, ask.stderr
    assert lines[0].startswith("error: The index in") and "assistant index --index" in lines[0], lines[0]
    assert "damaged" in lines[0] or "No index" in lines[0], lines[0]
    print(f"{kind}: {lines[0]}")

    rebuild = cli("index", "--corpus", corpus, "--index", index)
    assert rebuild.returncode == 0, rebuild.stderr
    ask = cli("ask", "hvad siger kodekset om sociale medier?", "--index", index)
    assert ask.returncode == 0 and "Kilde" not in ask.stderr and ask.stdout.strip(), ask.stderr
