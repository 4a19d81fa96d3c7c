"""The answer decision on hand-made evidence (the model's part is in test_answers.py and test_scoped.py)."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

from assistant.answer.decision import (
    ALWAYS,
    DECISION_PATH,
    EVIDENCE,
    Decision,
    Evidence,
    evidence,
    literal_coverage,
    load_decision,
)
from assistant.answer.rank import FEATURES
from assistant.evaluation.deciding import threshold_for

COL = {f: i for i, f in enumerate(FEATURES)}


def question(kind="explain", unit=None, focus=("gave",), english=False):
    return SimpleNamespace(kind=kind, unit=unit, focus=focus, english=english)


def candidates(*marks):
    """A feature matrix with one row per candidate; ``marks`` name the columns set to 1 in each."""
    X = np.zeros((len(marks), len(FEATURES)), np.float32)
    for row, names in enumerate(marks):
        for name in names:
            X[row, COL[name]] = 1.0
    return X


def test_a_question_for_an_amount_names_it_missing_when_no_best_candidate_states_one():
    amount = question("number", "amount")
    X = candidates((), ("kind_number",), ())
    ev = evidence(amount, X, np.array([2.0, 1.0, 0.5]), np.zeros(3), 0.85, 0, FEATURES)
    assert ev.missing_kind == "amount"                     # a number, but no amount ("300 kr.")
    X = candidates((), ("kind_number", "unit_match"), ())
    assert evidence(amount, X, np.array([2.0, 1.0, 0.5]), np.zeros(3), 0.85, 0, FEATURES).missing_kind is None


def test_a_phone_number_or_date_counts_among_the_best_three_only():
    date = question("date")
    X = candidates((), (), (), ("kind_date",))              # the fourth best holds a date
    ev = evidence(date, X, np.array([4.0, 3.0, 2.0, 1.0]), np.zeros(4), 0.85, 0, FEATURES)
    assert ev.missing_kind == "date" and ev.named()["kind_top"] == 0.0
    ev = evidence(date, X, np.array([4.0, 3.0, 2.0, 3.5]), np.zeros(4), 0.85, 0, FEATURES)
    assert ev.missing_kind is None and ev.named()["kind_top"] == 1.0 and ev.named()["kind_best"] == 0.0


def test_an_explanation_question_never_misses_a_kind():
    ev = evidence(question("explain"), candidates(()), np.array([0.1]), np.zeros(1), 0.8, 0, FEATURES)
    assert ev.missing_kind is None


def test_literal_coverage_weighs_rare_words_more_than_common_ones():
    q = question(focus=("gave", "tage"))
    cover = literal_coverage(q, [frozenset({"gave"}), frozenset({"tage"}), frozenset()])
    assert cover[0] > 0.5 > cover[1] > cover[2] == 0.0


def test_the_threshold_refuses_at_most_the_budget():
    p = np.linspace(0.01, 0.99, 200)
    t = threshold_for(p, 0.05)
    assert (p < t).mean() <= 0.05 < (p <= t).mean() + 0.01


def decision(threshold=0.5):
    n = len(EVIDENCE)
    return Decision(EVIDENCE, np.zeros(n), np.ones(n), np.eye(n)[EVIDENCE.index("top_score")], 0.0, threshold)


def test_the_probability_is_logistic_in_the_evidence_and_the_threshold_decides():
    d = decision(0.6)
    values = [0.0] * len(EVIDENCE)
    values[EVIDENCE.index("top_score")] = 1.0
    verdict = d.decide(Evidence(tuple(values), "amount"))
    assert verdict.probability == pytest.approx(1 / (1 + np.exp(-1)))
    assert verdict.answers and verdict.outcome == "answer"
    values[EVIDENCE.index("top_score")] = -1.0
    verdict = d.decide(Evidence(tuple(values), "amount"))
    assert not verdict.answers and verdict.outcome == "no_direct_answer"
    assert d.decide(Evidence(tuple(values))).outcome == "not_covered"
    assert ALWAYS.decide(Evidence(tuple(values))).answers


def test_weights_round_trip_and_an_unknown_format_or_evidence_is_refused():
    d = decision()
    again = Decision.from_json(json.loads(json.dumps(d.to_json({"C": 0.1}))))
    assert again.features == d.features and again.threshold == d.threshold and again.meta == {"C": 0.1}
    with pytest.raises(ValueError, match="format"):
        Decision.from_json({**d.to_json(), "format": 99})
    with pytest.raises(ValueError, match="unknown evidence"):
        Decision.from_json({**d.to_json(), "features": ["telepathy"]})


def test_the_shipped_decision_loads_and_has_the_interaction_for_the_default_model():
    shipped = load_decision(DECISION_PATH)
    assert shipped.features == EVIDENCE and 0.0 < shipped.threshold < 1.0
    assert shipped.inter is not None and len(shipped.inter.coef) == 384
    assert shipped.for_dimension(32).inter is None and shipped.for_dimension(384) is shipped
