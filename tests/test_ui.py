"""The Gradio chat: API round trip against a running server, and safe rendering."""
import html

import pytest
from conftest import CORPUS
from serving import ask, build_index, running_server

from assistant.answer.compose import NOT_FOUND
from assistant.answer.decision import Verdict
from assistant.answer.scope import Scope
from assistant.answer.why import Why
from assistant.types import Answer, Document, OrgAnswer, Quote
from assistant.web.chat import (
    answer_markdown,
    answer_messages,
    comparison_html,
    quote_in_context,
    source_html,
    voter,
    why_html,
)


def test_document_and_question_html_render_as_text():
    payload = "<script>alert(1)</script> <img src=x onerror=alert(2)>"
    q = Quote("d", "T", "Org", "politik", "Afsnit", 0, len(payload), None, payload, 1.0)
    md = answer_markdown(Answer("?", "", False, (q,)))
    assert "<script>" not in md and "<img" not in md and "&lt;script&gt;" in md

    class Fake:
        class index:
            documents = {"d": Document("d", "d.txt", payload + "\nmere tekst", "T", "Org", "politik", None)}
    page = source_html(Fake, q)
    assert "<script>" not in page and "<img" not in page and "&lt;img src" in page
    assert payload in html.unescape(page)
    assert "<mark id='citat'>" in page


def test_comparison_is_one_card_per_organisation_and_escaped():
    payload = "<img src=x onerror=alert(1)>"
    q1 = Quote("a", "Kodeks", "Ishøj Kommune", "adfærdskodeks", "Gaver", 0, 10, 2, "Gaver under 500 kr. " + payload, 0.9)
    q2 = Quote("b", "Kodeks", "Stevns Kommune", "adfærdskodeks", "Gaver", 0, 10, None, "Ingen gaver.", 0.8)
    groups = (OrgAnswer("Ishøj Kommune", (q1,)), OrgAnswer("Stevns Kommune", (q2,)),
              OrgAnswer("Brøndby Kommune <b>", (), "Brøndby Kommunes dokumenter nævner ikke gaver."))
    scope = Scope("?", "Sammenlign Ishøj, Stevns og Brøndby om gaver", ("Ishøj Kommune", "Stevns Kommune"),
                  compare=True)
    answer = Answer("?", "", False, (q1, q2), understood=scope.understood, by_organisation=groups, scope=scope)
    messages = answer_messages(answer)
    assert messages[0][1] is None and "Jeg har forstået" in messages[0][0]
    cards = messages[1:]
    assert [q.organisation if q else None for _, q in cards] == ["Ishøj Kommune", "Stevns Kommune", None]
    assert "nævner ikke gaver" in cards[2][0] and "<b>" not in cards[2][0]
    page = comparison_html(answer, ["p1", "p2"])
    assert page.count("class='org-kolonne'") == 3 and page.count("data-kilde=") == 2
    assert "<img" not in page and "&lt;img src" in page and "&lt;b&gt;" in page


def test_not_in_scope_says_so_before_other_organisations():
    other = Quote("a", "Kodeks", "Aalborg Kommune", "adfærdskodeks", "Respekt", 0, 10, None, "… sociale medier", 0.9)
    said = "Aarhus Kommunes dokumenter nævner ikke sociale medier."
    answer = Answer("?", "", True, (), by_organisation=(OrgAnswer("Aarhus Kommune", (), said),),
                    not_in_scope=("Aarhus Kommune",), others=(other,))
    (head, none), (card, quote) = answer_messages(answer)
    assert none is None and head.index(said) < head.index("andre organisationer")
    assert quote is other and card.startswith("*Aalborg Kommune:*")


def test_no_direct_answer_names_the_missing_detail_and_shows_the_closest_candidates_as_related():
    near = Quote("a", "Kodeks", "Aalborg Kommune", "adfærdskodeks", "Gaver", 0, 10, None, "Gaver skal være små.", 0.9)
    answer = Answer("?", "", True, (), (near,), verdict=Verdict(False, 0.02, "amount"))
    (head, none), (card, quote) = answer_messages(answer)
    assert none is None and "Dokumenterne nævner ikke et beløb" in head and NOT_FOUND not in head
    assert quote is near and "Gaver skal være små." in card
    (head, _), _ = answer_messages(Answer("?", "", True, (), (near,), verdict=Verdict(False, 0.02)))
    assert NOT_FOUND in head


def test_votes_are_counted_per_account_or_address_never_per_client_chosen_session():
    from types import SimpleNamespace

    from assistant.state.users import User
    from assistant.web.sessions import ANONYMOUS, Viewer
    one = SimpleNamespace(client=SimpleNamespace(host="10.0.0.7"), session_hash="a")
    other = SimpleNamespace(client=SimpleNamespace(host="10.0.0.7"), session_hash="b")
    assert voter(ANONYMOUS, one) == voter(ANONYMOUS, other) == "address:10.0.0.7"
    staff = Viewer(User("ole", "staff"))
    assert voter(staff, one) == voter(staff, SimpleNamespace(client=SimpleNamespace(host="10.9.9.9"))) == "user:ole"


def test_a_quote_is_shown_marked_in_its_passage_with_the_sentences_around_it_dimmed():
    from assistant.answer.compose import in_context, make_quote
    from assistant.types import Document
    text = ("Gaver\nVi siger nej tak til gaver. Små gaver <b>under</b> 300 kr. må modtages. Gaven registreres.\n"
            "• Første punkt\n• Andet punkt\n• Tredje punkt")
    doc = Document("d", "d.txt", text, "Gavepolitik", "Testby Kommune", "politik", None)
    start = text.index("Små")
    q = make_quote(doc, "Gaver", start, text.index("modtages.") + 9, 0.9, (0, len(text)))
    assert (q.before, q.after) == ("Vi siger nej tak til gaver. ", " Gaven registreres.")
    assert text[q.context_start:q.context_end] == q.before + q.text + q.after     # offsets into the document
    card = quote_in_context(q)
    assert '<span class="kontekst">Vi siger nej tak til gaver.</span> <mark class="citat">Små gaver &lt;b&gt;under' in card
    assert "<b>" not in card and '<span class="kontekst">Gaven registreres.</span>' in card
    item = make_quote(doc, "Gaver", text.index("Andet"), text.index("Andet") + 11, 0.9, (0, len(text)))
    card = quote_in_context(item)                  # an item: its neighbours on their lines, its bullet not dimmed
    assert card == ('> <span class="kontekst">• Første punkt</span><br>• <mark class="citat">Andet punkt</mark>'
                    '<br><span class="kontekst">• Tredje punkt</span>')
    # nothing around it fits in 450 characters: the quote alone
    long = text.index("Vi siger")
    assert in_context(text, start, start + 5, (0, len(text)), limit=10) == (start, start + 5)
    assert in_context(text, long, long + 28, (long, long + 28)) == (long, long + 28)


def test_why_is_folded_until_asked_and_escaped():
    why = Why(("sociale", "medier"), 0.90, "Der blev kun søgt i dokumenterne fra <Aarhus>.", 1)
    page = why_html(why)
    assert page.startswith("<details") and "<summary>Hvorfor dette citat?</summary>" in page
    assert "«sociale», «medier»" in page and "0,90" in page and "&lt;Aarhus&gt;" in page
    assert "meget tæt på" in page and "nr. 1" in page


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    index = tmp_path_factory.mktemp("index")
    build_index(CORPUS, index)
    with running_server(index, data=tmp_path_factory.mktemp("data")) as url:
        yield url


def test_gradio_api_answers_with_quote_and_citation(server):
    from gradio_client import Client
    text = ask(Client(server, verbose=False), "hvad siger kodekset om sociale medier?")
    assert "Vi taler og skriver ordentligt til, om og med hinanden" in text
    assert "Aalborg Kommune · Byrådets adfærdskodeks · Respekt og ligebehandling" in text


def test_gradio_api_says_not_covered_with_related_passages(server):
    from gradio_client import Client
    text = ask(Client(server, verbose=False), "hvor mange feriedage har jeg")
    assert "Det kan jeg ikke finde et svar på" in text and "«feriedage»" in text
    assert "Måske relateret" in text and "Kilde:" in text
