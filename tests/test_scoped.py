"""Organisation scope end to end with the real model on the bundled corpus (Aalborg, Aarhus, Albertslund)."""
import json
import subprocess
import sys

import pytest
from conftest import CORPUS, ROOT

from assistant.answer.assistant import Assistant
from assistant.answer.retrieve import Filters

SOCIAL = "Vi taler og skriver ordentligt til, om og med hinanden ved møder, uden for møder og på sociale medier"


@pytest.fixture(scope="module")
def assistant(bundled_assistant):
    return bundled_assistant()


def test_a_named_organisation_is_quoted_first(assistant):
    for question, org in [("hvad siger Albertslund om mangfoldighed?", "Albertslund Kommune"),
                          ("Hvad betyder tillid i Aalborgs adfærdskodeks?", "Aalborg Kommune"),
                          ("hvordan inddrager Aarhus byråd borgerne", "Aarhus Kommune")]:
        answer = assistant.ask(question)
        assert not answer.abstained and answer.quotes, question
        assert {q.organisation for q in answer.quotes} == {org}, question
        assert answer.by_organisation[0].organisation == org
        assert f"kun dokumenter fra {org}" in answer.understood


def test_not_in_the_named_organisations_documents_is_said_before_others_are_quoted(assistant):
    answer = assistant.ask("Hvad siger Aarhus om sociale medier?")
    assert answer.abstained and not answer.quotes
    assert answer.not_in_scope == ("Aarhus Kommune",)
    said = "Aarhus Kommunes dokumenter nævner ikke sociale medier."
    assert said in answer.text and answer.others[0].text == SOCIAL
    assert answer.text.index(said) < answer.text.index("Det siger andre organisationer")
    assert answer.others[0].organisation == "Aalborg Kommune"


def test_follow_up_keeps_the_topic_and_replaces_the_organisation(assistant):
    first = assistant.ask("hvad siger kodekset om sociale medier?")
    assert first.quotes[0].text == SOCIAL
    follow = assistant.ask("hvad med Aarhus?", previous=first.scope)
    assert follow.question == "hvad siger kodekset om sociale medier?"
    assert follow.understood.startswith("Jeg har forstået: »hvad siger kodekset om sociale medier?« – kun dokumenter "
                                        "fra Aarhus Kommune")
    assert follow.not_in_scope == ("Aarhus Kommune",) and "nævner ikke sociale medier" in follow.text
    # the JSON form the chat keeps between messages works the same
    again = assistant.ask("hvad med Aarhus?", previous=json.loads(json.dumps(first.scope.to_json())))
    assert again.text == follow.text
    # a new topic is a new question
    new = assistant.ask("hvad er den gensidige initiativpligt?", previous=follow.scope)
    assert not new.scope.follow_up and new.quotes


def test_comparison_is_answered_per_organisation(assistant):
    answer = assistant.ask("Sammenlign Aalborg og Aarhus: hvad siger de om fortrolighed?")
    assert [g.organisation for g in answer.by_organisation] == ["Aalborg Kommune", "Aarhus Kommune"]
    for g in answer.by_organisation:
        assert g.quotes and {q.organisation for q in g.quotes} == {g.organisation}
        assert any("fortrolighed" in q.text for q in g.quotes)
    social = assistant.ask("Hvad siger Aalborg og Aarhus om sociale medier?")
    aalborg, aarhus = social.by_organisation
    assert aalborg.quotes[0].text == SOCIAL
    assert not aarhus.quotes and aarhus.note == "Aarhus Kommunes dokumenter nævner ikke sociale medier."
    assert social.not_in_scope == ("Aarhus Kommune",)


def test_each_organisation_with_a_passage_best_first(assistant):
    answer = assistant.ask("Hvad siger kommunerne om mangfoldighed og forskellighed?")
    orgs = [g.organisation for g in answer.by_organisation]
    assert answer.scope.compare and 1 <= len(orgs) <= 5 and len(set(orgs)) == len(orgs)
    assert {"Aalborg Kommune", "Albertslund Kommune"} <= set(orgs)
    assert all(g.quotes and {q.organisation for q in g.quotes} == {g.organisation} for g in answer.by_organisation)


def test_filter_takes_canonical_names_and_aliases(assistant):
    for name in ("Aarhus Kommune", "Aarhus Byråd", "århus", "Byrådet i Aarhus"):
        answer = assistant.ask("respekt", Filters(organisation=name))
        assert answer.quotes and {q.organisation for q in answer.quotes} == {"Aarhus Kommune"}, name
        assert answer.scope.from_filter


def test_why_this_passage(assistant):
    answer = assistant.ask("hvad siger kodekset om sociale medier?")
    why = assistant.why(answer.question, answer.quotes[0], answer.scope, answer.hits)
    assert {"sociale", "medier"} <= set(why.matched) and why.rank == 1
    assert 0.75 < why.similarity < 1.0
    follow = assistant.ask("hvad med Aarhus?", previous=answer.scope)
    other = assistant.why(follow.question, follow.others[0], follow.scope)
    assert "Citatet er fra Aalborg Kommune, ikke fra Aarhus Kommune" in other.scope
    assert "du spurgte »hvad med Aarhus?«" in other.scope


def test_cli_ask_json_groups_a_comparison_by_organisation(assistant):
    out = subprocess.run([sys.executable, "-m", "assistant.cli", "ask", "Hvad siger Aalborg og Aarhus om sociale medier?",
                          "--json", "--why", "--index", str(assistant.index_dir)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [g["organisation"] for g in data["by_organisation"]] == ["Aalborg Kommune", "Aarhus Kommune"]
    assert data["by_organisation"][0]["mentions"] and data["by_organisation"][0]["quotes"][0]["text"] == SOCIAL
    assert not data["by_organisation"][1]["mentions"] and data["not_in_scope"] == ["Aarhus Kommune"]
    assert data["scope"]["compare"] and data["understood"].startswith("Jeg har forstået")
    assert data["why"][0]["matched_words"] and data["why"][0]["scope"]


# -- visibility (#18): an anonymous reader's scoped answers never draw on internal documents
HIDDEN = ("Medarbejdere i Hemmeligby må ikke dele billeder eller oplysninger om borgere på sociale medier, "
          "heller ikke i lukkede grupper")


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, e5_embedder):
    """The bundled corpus plus an internal document of an organisation that has no public one."""
    import shutil
    corpus = tmp_path_factory.mktemp("mixed") / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "sociale-medier.txt").write_text(f"Sociale medier\n\nRetningslinje\n\n{HIDDEN}.\n", encoding="utf-8")
    (corpus / "sociale-medier.meta.json").write_text(json.dumps(
        {"organisation": "Hemmeligby Kommune", "visibility": "intern", "doc_type": "retningslinje"}), encoding="utf-8")
    # and a public code whose passages are numbered items under empty headings, one mentioning social media
    (corpus / "bakkeby-kodeks.txt").write_text(BAKKEBY, encoding="utf-8")
    (corpus / "bakkeby-kodeks.meta.json").write_text(json.dumps(
        {"organisation": "Bakkeby Kommune", "doc_type": "adfærdskodeks"}), encoding="utf-8")
    a = Assistant(index_dir=tmp_path_factory.mktemp("mixed-index"), embedder=e5_embedder)
    a.build(corpus)
    return a


BAKKEBY_SOCIAL = ("Medlemmerne omtaler kommunens ansatte sagligt, også på sociale medier og i andre "
                  "offentlige sammenhænge")
BAKKEBY = ("Kodeks for god adfærd i Bakkeby Byråd\n\n"
           "1.\nMedlemmerne møder hinanden og borgerne med respekt og tager ordet efter tur.\n\n"
           f"2.\n{BAKKEBY_SOCIAL}.\n\n"
           "3.\nMedlemmerne siger til, hvis de kan være inhabile i en sag, og forlader mødet under sagen.\n\n"
           "4.\nMedlemmerne tager ikke imod gaver, der kan påvirke deres beslutninger.\n")


def test_a_subject_one_numbered_item_mentions_is_quoted_not_denied(mixed):
    """Other documents are about social media as a whole and closer in meaning; the one item that
    mentions it is still the organisation's answer, never "nævner ikke"."""
    for filters in (None, Filters(internal=True)):
        answer = mixed.ask("Hvad siger Bakkeby Kommune om sociale medier?", filters)
        assert not answer.not_in_scope and "nævner ikke" not in answer.text
        assert answer.quotes[0].organisation == "Bakkeby Kommune"
        assert BAKKEBY_SOCIAL in answer.quotes[0].text
        assert answer.verdict.answers and answer.to_json()["decision"]["outcome"] == "answer"


def _everything_quoted(answer):
    groups = [q for g in answer.by_organisation for q in g.quotes]
    return list(answer.quotes) + list(answer.others) + list(answer.related) + groups


@pytest.mark.parametrize("question", ["Hvad siger Aarhus om sociale medier?",
                                      "Hvad siger kommunerne om sociale medier?",
                                      "Sammenlign Aalborg og Hemmeligby: hvad siger de om sociale medier?",
                                      "Hvad siger Hemmeligby om sociale medier?"])
def test_anonymous_scoped_answers_never_quote_or_name_internal_documents(mixed, question):
    for filters in (None, Filters(), Filters(organisation="Hemmeligby")):
        answer = mixed.ask(question, filters)
        assert all(q.document != "sociale-medier" for q in _everything_quoted(answer)), question
        assert "Hemmeligby Kommune" not in {g.organisation for g in answer.by_organisation}, question
        assert HIDDEN[:40] not in answer.text and "Hemmeligby Kommune" not in answer.text, question


def test_staff_get_the_internal_organisation_in_comparisons_and_as_others(mixed):
    staff = Filters(internal=True)
    named = mixed.ask("Hvad siger Hemmeligby om sociale medier?", staff)
    assert named.quotes and named.quotes[0].document == "sociale-medier"
    compared = mixed.ask("Sammenlign Aalborg og Hemmeligby: hvad siger de om sociale medier?", staff)
    assert [g.organisation for g in compared.by_organisation] == ["Aalborg Kommune", "Hemmeligby Kommune"]
    assert compared.by_organisation[1].quotes[0].document == "sociale-medier"
