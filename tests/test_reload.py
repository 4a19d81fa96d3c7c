"""A running server picks up a finished rebuild, and keeps answering from the old index when one fails."""
import shutil

import pytest
from conftest import CORPUS
from serving import ask, build_index, running_server

from assistant.config import Settings
from assistant.language.danish import Analyzer
from assistant.store.build import build_index as build_in_process

QUESTION = "hvad siger kodekset om sociale medier?"
OLD = "Vi taler og skriver ordentligt til, om og med hinanden ved møder, uden for møder og på sociale medier"
NEW = "Vi taler og skriver altid venligt til, om og med hinanden ved møder, uden for møder og på sociale medier"
AALBORG = "aalborg-byraad-adfaerdskodeks.txt"


def test_rebuild_during_serving_is_picked_up_and_a_failed_one_changes_nothing(tmp_path, e5_embedder):
    from gradio_client import Client
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(CORPUS, corpus)
    build_index(corpus, index)
    with running_server(index, data=tmp_path / "data") as url:
        client = Client(url, verbose=False)
        assert OLD in ask(client, QUESTION)

        # the policy changes; `assistant index` runs while the server is up
        doc = corpus / AALBORG
        doc.write_text(doc.read_text(encoding="utf-8").replace(OLD, NEW), encoding="utf-8")
        build_index(corpus, index)
        after_rebuild = ask(client, QUESTION)
        assert NEW in after_rebuild and OLD not in after_rebuild

        # another change, but this rebuild fails after embedding: answers stay exactly as they were
        doc.write_text(doc.read_text(encoding="utf-8").replace(NEW, "Vi skriver kun pænt på sociale medier"),
                       encoding="utf-8")

        def boom():
            raise OSError("disk full (simulated)")

        with pytest.raises(OSError):
            build_in_process(corpus, index, e5_embedder, Settings(), Analyzer(), after_embed=boom)
        assert ask(client, QUESTION) == after_rebuild
        assert not list(index.glob(".tmp-*"))
