"""The eval gate: a rebuild that answers the gold set worse is not switched in; the admin's
"Skift alligevel" switches it (real model, bundled gold set, in-process server)."""
import re

import pytest
from webclient import csrf, login, make_site

from assistant.evaluation.gate import Gate, Verdict
from assistant.state.audit import AuditLog
from assistant.store.index import resolve_current

NEW_POLICY = ("Retningslinjer for hjemmearbejde\n\nHjemmearbejde\n\n"
              "Medarbejdere kan arbejde hjemme to dage om ugen efter aftale med lederen.\n")
SOCIAL = "Vi taler og skriver ordentligt til, om og med hinanden ved møder, uden for møder og på sociale medier"


def test_verdict_blocks_a_drop_beyond_the_margin_only():
    before = {"recall@3": 0.96, "quote_hit@1": 0.64}
    assert Verdict("x", 10, before, {"recall@3": 0.92, "quote_hit@1": 0.60}, 0.05).passed
    v = Verdict("x", 10, before, {"recall@3": 0.90, "quote_hit@1": 0.70}, 0.05)
    assert not v.passed and v.drops == {"recall@3": 0.06}
    assert Verdict("x", 0, {"recall@3": None}, {"recall@3": None}, 0.05).passed
    with pytest.raises(FileNotFoundError, match="bundled, feedback or a JSONL file"):
        Gate(["/nonexistent/gold.jsonl"])
    with pytest.raises(ValueError, match="between 0 and 1"):
        Gate(["bundled"], margin=2)


def test_gold_regression_blocks_the_automatic_switch_and_the_admin_override_performs_it(tmp_path, e5_embedder):
    client, app, assistant = make_site(tmp_path, e5_embedder, gate=Gate(["bundled"], margin=0.05))
    index = tmp_path / "index"
    rebuilder = app.state.rebuilder
    with client:
        login(client)
        first = resolve_current(index).name

        # a harmless change: measured, passes, switched in
        client.post("/admin/dokumenter", data={"csrf": csrf(client), "organisation": "Aalborg Kommune"},
                    files={"fil": ("hjemmearbejde.txt", NEW_POLICY.encode(), "text/plain")})
        client.post("/admin/genopbyg", data={"csrf": csrf(client)})
        state = rebuilder.wait(900)
        assert state.status == "done", state.message
        assert state.gate["passed"] and state.gate["questions"] == 67
        second = resolve_current(index).name
        assert second == state.version != first

        # the council's code of conduct deleted by mistake: the gold set answers much worse
        client.post("/admin/dokumenter/aalborg-byraad-adfaerdskodeks/slet", data={"csrf": csrf(client)})
        client.post("/admin/genopbyg", data={"csrf": csrf(client)})
        state = rebuilder.wait(900)
        assert state.status == "blocked", state.message
        gate = state.gate
        assert "recall@3" in gate["drops"] and gate["after"]["recall@3"] < gate["before"]["recall@3"] - 0.05
        assert resolve_current(index).name == second                       # not switched
        assert any(q.text == SOCIAL for q in assistant.ask("hvad siger kodekset om sociale medier?").quotes)
        page = client.get("/admin").text
        table = page.split('id="maaling"')[1].split("</table>")[0]
        assert f"<td>{gate['before']['recall@3']:.3f}</td><td>{gate['after']['recall@3']:.3f}</td>" in table
        assert "ikke taget i brug" in page and 'id="skift-alligevel"' in page

        # the admin looks at the numbers and switches anyway
        assert client.post("/admin/skift", data={"csrf": "forkert"}).status_code == 303
        assert resolve_current(index).name == second                       # not without the CSRF token
        client.post("/admin/skift", data={"csrf": csrf(client)})
        assert resolve_current(index).name == state.version
        assert "aalborg-byraad-adfaerdskodeks" not in assistant.index.documents
        assert 'id="skift-alligevel"' not in client.get("/admin").text
    log = [e["action"] for e in AuditLog(tmp_path / "data").entries()]
    assert log[-5:] == ["rebuild_done", "delete", "rebuild_start", "rebuild_blocked", "switch_anyway"]
    [switch] = [e for e in AuditLog(tmp_path / "data").entries() if e["action"] == "switch_anyway"]
    assert switch["user"] == "hanne" and switch["details"]["version"] == state.version
    assert re.match(r"\d{4}-\d\d-\d\dT", switch["time"])


def test_gold_sets_from_the_bundled_file_the_feedback_and_the_organisations_own(tmp_path):
    from assistant.state.feedback import FeedbackStore
    own = tmp_path / "egen.jsonl"
    own.write_text('{"id": "o1", "question": "hvem behandler krænkelsessager?", '
                   '"relevant": [{"document": "kraenkelser", "text": "trivselsudvalget"}]}\n', encoding="utf-8")
    data = tmp_path / "data"
    FeedbackStore(data).record("hvad siger kodekset om sociale medier?", True, False,
                               [{"document": "aalborg-byraad-adfaerdskodeks", "text": "sociale medier",
                                 "start": 0, "end": 14}])
    FeedbackStore(data).record("hvor mange feriedage?", False, True, [])
    gold = Gate(["bundled", "feedback", str(own)], data_dir=data).gold()
    assert len(gold) == 67 + 1 + 1
    fb = [g for g in gold if g.id.startswith("fb-")]
    assert [g.question for g in fb] == ["hvad siger kodekset om sociale medier?"]    # up-votes only
    assert fb[0].relevant == (("aalborg-byraad-adfaerdskodeks", "sociale medier"),)
    assert gold[-1].relevant == (("kraenkelser", "trivselsudvalget"),)
    assert Gate(["feedback"], data_dir=tmp_path / "empty").gold() == []
