"""Metrics on hand-made rankings whose values are known."""
import json
import math

import pytest

from assistant.evaluation.evaluate import Gold, auc, load_gold, mrr_at, ndcg_at, recall_at, summarise


def test_recall_mrr_ndcg_on_a_known_ranking():
    rels = [False, True, False, True] + [False] * 6     # relevant at ranks 2 and 4
    assert [recall_at(rels, k) for k in (1, 3, 5, 10)] == [0.0, 1.0, 1.0, 1.0]
    assert mrr_at(rels) == 0.5
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    # three relevant passages exist in the gold set: the ideal ranking has all three first,
    # although only two were retrieved
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at(rels, n_relevant=3) == pytest.approx(dcg / idcg)
    assert ndcg_at(rels, n_relevant=2) == pytest.approx(dcg / (1 + 1 / math.log2(3)))


def test_nothing_relevant_retrieved():
    rels = [False] * 10
    assert recall_at(rels, 10) == 0.0 and mrr_at(rels) == 0.0 and ndcg_at(rels, 1) == 0.0


def test_relevance_is_whitespace_insensitive_and_per_document():
    g = Gold("q", "?", (("doc-a", "vi taler ordentligt"),))
    assert g.matches("doc-a", "Vi  taler\nordentligt til hinanden")
    assert not g.matches("doc-b", "Vi taler ordentligt")


def test_summary_separates_answerable_and_unanswerable():
    rows = [
        {"answerable": True, "abstained": False, "recall@1": 1.0, "recall@3": 1.0, "recall@5": 1.0,
         "recall@10": 1.0, "mrr@10": 1.0, "ndcg@10": 1.0, "quote_hit@1": 1.0, "quote_hit@shown": 1.0},
        {"answerable": True, "abstained": True, "recall@1": 0.0, "recall@3": 1.0, "recall@5": 1.0,
         "recall@10": 1.0, "mrr@10": 0.5, "ndcg@10": 0.5, "quote_hit@1": 0.0, "quote_hit@shown": 0.0},
        {"answerable": False, "abstained": True},
        {"answerable": False, "abstained": False},
    ]
    s = summarise(rows)
    assert s["n"] == 4 and s["recall@1"] == 0.5 and s["mrr@10"] == 0.75
    assert s["quote_hit@1"] == 0.5 and s["quote_hit@shown"] == 0.5
    assert s["abstain_accuracy"] == 0.5 and s["false_abstain_rate"] == 0.5


def test_bad_gold_line_is_named(tmp_path):
    f = tmp_path / "gold.jsonl"
    f.write_text(json.dumps({"id": "x", "question": "?"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="gold.jsonl:1"):
        load_gold([f])


def test_auc_counts_pairs_ordered_correctly_and_ties_as_half():
    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auc([0.1], [0.9]) == 0.0
    assert auc([0.5, 0.9], [0.5]) == 0.75
    assert math.isnan(auc([], [0.3]))


def test_a_false_not_mentioned_is_counted_for_answerable_questions_naming_an_organisation():
    from types import SimpleNamespace

    from assistant.evaluation.evaluate import scope_row
    g = Gold("q", "Hvad siger Havnsø om gaver?", (("doc-a", "gaver"),), organisations=("Havnsø Kommune",))
    denied = SimpleNamespace(quotes=(), by_organisation=(), not_in_scope=("Havnsø Kommune",))
    assert scope_row(g, denied, None)["false_not_mentioned"] == 1.0
    quote = SimpleNamespace(organisation="Havnsø Kommune")
    answered = SimpleNamespace(quotes=(quote,), by_organisation=(), not_in_scope=())
    row = scope_row(g, answered, None)
    assert row["false_not_mentioned"] == 0.0 and row["named_first_quote"] == 1.0
