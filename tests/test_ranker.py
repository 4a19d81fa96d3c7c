"""The quote ranker: the shipped weights are what `assistant train-ranker` produces, and they load."""
import json

import numpy as np

from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.rank import FEATURES, WEIGHTS_PATH, Ranker, load_ranker
from assistant.train_ranker import train

from conftest import ROOT


def test_shipped_weights_load_and_score_every_feature():
    ranker = load_ranker(str(WEIGHTS_PATH))
    assert ranker.features == FEATURES
    X = np.zeros((2, len(FEATURES)), np.float32)
    X[1, FEATURES.index("dense_rel")] = -0.2          # further from the question than the best candidate
    s = ranker.score(X)
    assert s.shape == (2,) and s[0] > s[1]


def test_weights_in_an_unknown_format_are_refused():
    d = json.loads(WEIGHTS_PATH.read_text())
    try:
        Ranker.from_json({**d, "format": 99})
    except ValueError as exc:
        assert "format" in str(exc)
    else:
        raise AssertionError("format 99 accepted")


def test_shipped_weights_are_what_train_ranker_produces(tmp_path, e5_embedder, monkeypatch):
    """Retraining from the development material gives the shipped weights (to rounding): change
    a feature, the candidates or the retrieval, and this fails until `make ranker` is run."""
    monkeypatch.chdir(ROOT)
    make = lambda corpus, index_dir: Assistant(Settings.from_env(index_dir=index_dir, corpus_dir=corpus),
                                               embedder=e5_embedder)
    out = tmp_path / "ranker.json"
    report = train(make, tmp_path / "work", out, log=lambda m: None)
    fresh, shipped = json.loads(out.read_text()), json.loads(WEIGHTS_PATH.read_text())
    assert fresh["features"] == shipped["features"] and fresh["C"] == shipped["C"]
    for key in ("mean", "scale", "coef"):
        np.testing.assert_allclose(fresh[key], shipped[key], atol=0.01, err_msg=key)
    assert abs(fresh["intercept"] - shipped["intercept"]) < 0.01
    assert report["hit1_loo"] > report["hit1_dense_only"]   # the learned weights beat meaning alone on held-out organisations
