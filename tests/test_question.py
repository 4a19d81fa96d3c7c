"""Question analysis and candidate quotes: the pieces the ranker works with."""
import numpy as np

from assistant.answer.extract import select_quotes
from assistant.answer.question import analyse, answer_kind, answer_unit, list_size, quantity_unit
from assistant.answer.scope import ScopeReader
from assistant.ingest.organisations import Registry
from assistant.ingest.sentences import candidate_spans, sentences
from assistant.language.danish import Analyzer
from assistant.types import Chunk, Hit

ALIASES = {"Ishøj Kommune": {"Ishøj", "Ishøjs", "Ishøj Kommunes"},
           "Københavns Kommune": {"København", "Borgerrepræsentationen"},
           "Kommunernes Landsforening": {"KL"}}


def test_answer_kinds_from_the_question_wording():
    assert answer_kind("Hvor mange medlemmer har udvalget?") == "number"
    assert answer_kind("Hvornår er personalepolitikken opdateret?") == "date"
    assert answer_kind("Hvad er telefonnummeret til HR?") == "contact"
    assert answer_kind("Hvem godkender bijob?") == "who"
    assert answer_kind("Må jeg tage imod arv fra en borger?") == "rule"
    assert answer_kind("Hvilke fire principper indeholder ledelsespolitikken?") == "list"
    assert answer_kind("Hvordan håndterer vi konflikter?") == "explain"
    assert list_size("Hvilke fire principper indeholder ledelsespolitikken?") == 4
    assert list_size("Hvilke 3 værdier?") == 3


def test_the_first_interrogative_decides_and_a_verb_first_question_asks_for_a_rule():
    assert answer_kind("Who pays for the doctor's certificate when the municipality asks for one?") == "who"
    assert answer_kind("Hvem skal jeg kontakte, og hvornår?") == "who"
    assert answer_kind("Hvornår skal jeg kontakte hvem?") == "date"
    assert answer_kind("Hvor lang skal en adgangskode være?") == "number"
    assert answer_kind("Hvilken promillegrænse gælder for chauffører?") == "number"
    assert answer_kind("Betaler kommunen min internetforbindelse, når jeg arbejder hjemme?") == "rule"
    assert answer_kind("Er der en delpolitik om løn?") == "rule"
    assert answer_kind("Hvad betyder meddelerfrihed?") == "explain"


def test_a_question_for_several_things_asks_for_a_list_however_it_is_phrased():
    assert answer_kind("Hvilke slags seniorordninger kan man søge om?") == "list"
    assert answer_kind("Hvad er advarselstegnene på stress?") == "list"
    assert answer_kind("Hvad er Forvaltningsstyrelsens grundregler for informationssikkerhed?") == "list"
    assert answer_kind("Hvad bør en indberetning indeholde?") == "list"
    assert answer_kind("What information must I include when I tell my manager about a side job?") == "list"
    assert answer_kind("Which social media platforms does the region have profiles on?") == "list"
    assert answer_kind("Which year was the code adopted?") == "date"
    assert answer_kind("Hvad er kommunens beløbsgrænse for gaver?") == "number"


def test_a_contact_question_names_the_form_of_the_contact_and_a_meaning_question_asks_for_a_definition():
    assert answer_unit("Hvad er telefonnummeret til politikerhotlinen?", "contact") == "phone"
    assert answer_unit("Hvilken mailadresse skal jeg skrive til?", "contact") == "email"
    assert answer_unit("Hvor ligger byrådssekretariatet?", answer_kind("Hvor ligger byrådssekretariatet?")) == "address"
    assert answer_unit("What is meddelerfrihed?", "explain") == "definition"
    assert answer_unit("Hvad betyder værdien mod?", "explain") == "definition"
    assert answer_unit("Hvad er reglerne for gaver til politikere?", "explain") is None


def test_a_contact_candidate_of_the_form_asked_for_is_marked():
    from assistant.answer.rank import FEATURES, features
    from assistant.types import Document
    doc = Document("d", "d.txt", "x", "Politikerhotline", "X Kommune", "vejledning", None)
    texts = ["Du kan også skrive til hotline@x.dk.", "Hotlinen har telefon 33 41 27 00 på hverdage."]
    chunk = Chunk("d#0", "d", 0, 200, " ".join(texts), ())
    spans = candidate_spans(Hit(chunk, 1.0, 1.0, 1.0), 0)
    question = analyse("Hvad er telefonnummeret til hotlinen?", Analyzer())
    assert (question.kind, question.unit) == ("contact", "phone")
    X = features(question, spans, [Hit(chunk, 1.0, 1.0, 1.0)], np.zeros(2), np.zeros(2), {"d": doc}, Analyzer())
    assert X[:, FEATURES.index("unit_match")].tolist() == [0.0, 1.0]
    assert X[:, FEATURES.index("kind_contact")].tolist() == [1.0, 1.0]      # both are contacts; one is a phone


def test_the_candidate_holding_the_rarest_focus_term_is_marked():
    from assistant.answer.rank import FEATURES, features
    from assistant.types import Document
    doc = Document("d", "d.txt", "x", "Rejser", "X Kommune", "retningslinjer", None)
    texts = ["Alle tjenesterejser skal godkendes af din nærmeste leder.",
             "Rejser til udlandet skal desuden godkendes af direktøren.",
             "Tjenesterejser bestilles i rejseportalen."]
    chunk = Chunk("d#0", "d", 0, 300, " ".join(texts), ())
    spans = candidate_spans(Hit(chunk, 1.0, 1.0, 1.0), 0)
    question = analyse("Hvem skal godkende en tjenesterejse til udlandet?", Analyzer())
    X = features(question, spans, [Hit(chunk, 1.0, 1.0, 1.0)], np.zeros(3), np.zeros(3), {"d": doc}, Analyzer())
    assert X[:, FEATURES.index("rare_focus")].tolist() == [0.0, 1.0, 0.0]


def test_the_quantity_a_number_question_asks_for_and_the_candidates_that_hold_it():
    from assistant.answer.rank import FEATURES, features
    from assistant.types import Document
    assert quantity_unit("Hvor hurtigt skal lederen svare på en ansøgning?") == "duration"
    assert quantity_unit("Hvor dyr må en gave være?") == "amount"
    assert quantity_unit("Hvor ofte holder vi MUS?") == "frequency"
    assert quantity_unit("Hvor mange medlemmer har byrådet?") is None
    doc = Document("d", "d.txt", "x", "Seniorpolitik", "X Kommune", "politik", None)
    texts = ["Din leder behandler en ansøgning om seniorordning.",        # no quantity ("en" is an article)
             "Din leder skal give dig et skriftligt svar inden for 30 dage.",   # a duration
             "Ordningen koster 400 kr. om måneden."]                         # an amount
    chunk = Chunk("d#0", "d", 0, 200, " ".join(texts), ())
    spans = candidate_spans(Hit(chunk, 1.0, 1.0, 1.0), 0)
    assert [s.text for s in spans] == texts
    question = analyse("Hvor hurtigt skal lederen svare på en ansøgning om seniorordning?", Analyzer())
    X = features(question, spans, [Hit(chunk, 1.0, 1.0, 1.0)], np.zeros(3), np.zeros(3), {"d": doc}, Analyzer())
    assert X[:, FEATURES.index("unit_match")].tolist() == [0.0, 1.0, 0.0]
    assert X[:, FEATURES.index("kind_number")].tolist() == [0.0, 1.0, 1.0]     # a quantity, not the article


def _reader():
    reg = Registry()
    for canon, aliases in ALIASES.items():
        reg.add(canon, tuple(aliases))
    return ScopeReader(reg, ["adfærdskodeks", "personalepolitik"])


def test_organisations_come_from_the_one_scope_reading_and_are_kept_out_of_the_focus_terms():
    reader = _reader()
    assert analyse("Hvad siger Ishøjs kodeks om gaver?", Analyzer(),
                   reader.read("Hvad siger Ishøjs kodeks om gaver?")).organisations == ("Ishøj Kommune",)
    assert reader.read("Hvad mener Borgerrepræsentationen og KL?").organisations == (
        "Københavns Kommune", "Kommunernes Landsforening")
    assert reader.read("Skal vi skrive klart?").organisations == ()            # "kl" is not inside words
    text = "Må jeg tage imod arv fra en borger, når jeg er ansat i Ishøj Kommune?"
    scope = reader.read(text)
    q = analyse(text, Analyzer(), scope)
    assert q.scope is scope                                                     # one reading, carried along
    assert q.organisations == ("Ishøj Kommune",) and q.kind == "rule"
    lemma = lambda w: Analyzer().tokens(w)[0]
    assert {lemma("arv"), lemma("borger")} <= set(q.focus)
    assert lemma("ishøj") not in q.focus and lemma("kommune") not in q.focus
    # passages are compared with the question without the name: the topic, analysed from the same scope
    assert q.topic is not None and q.about is q.topic and "Ishøj" not in q.topic.text
    assert q.topic.scope is scope and lemma("ishøj") not in q.topic.terms
    assert not q.english
    plain = analyse("What does the code say about gifts?", Analyzer())
    assert plain.english and plain.organisations == () and plain.about is plain


def test_a_follow_up_is_analysed_as_the_question_it_stands_for():
    reader = _reader()
    first = reader.read("Hvad siger kodekset om gaver?")
    q = analyse("hvad med Ishøj?", Analyzer(), reader.read("hvad med Ishøj?", first))
    assert q.text == "Hvad siger kodekset om gaver?"        # the topic kept, the organisation replaced
    assert q.organisations == ("Ishøj Kommune",) and q.scope.follow_up
    assert Analyzer().tokens("gaver")[0] in q.focus


def _hit(text: str, start: int = 100) -> Hit:
    return Hit(Chunk("c", "d", start, start + len(text), text, ("Afsnit",)), 1.0)


def test_sentences_do_not_end_at_abbreviations_or_initials():
    line = "Vi er ca. 140 medarbejdere. Afbud senest kl. 12 dagen før. Line M. Kristensen svarer. Se bl.a. pkt. 3."
    assert [line[a:b].strip() for a, b in sentences(line)] == [
        "Vi er ca. 140 medarbejdere.", "Afbud senest kl. 12 dagen før.", "Line M. Kristensen svarer.",
        "Se bl.a. pkt. 3."]


def test_a_list_is_one_candidate_with_its_lead_in_and_a_leaning_sentence_brings_its_predecessor():
    text = ("Lederen holder samtalen inden for en uge. Det betyder, at du hurtigt får svar.\n"
            "Vi bygger på fire principper:\n\n• tillid mellem leder og medarbejder\n"
            "• åbenhed om beslutninger\n• ansvar for helheden\n• mod til at prøve nyt")
    spans = candidate_spans(_hit(text), 0)
    by_form = {}
    for s in spans:
        by_form.setdefault(s.form, []).append(s)
        assert text[s.start - 100:s.end - 100] == s.text          # exact offsets into the document
    (lst,) = by_form["list"]
    assert lst.text.startswith("Vi bygger på fire principper:") and lst.text.endswith("mod til at prøve nyt")
    assert len(by_form["item"]) == 4
    (pair,) = by_form["pair"]
    assert pair.text == "Lederen holder samtalen inden for en uge. Det betyder, at du hurtigt får svar."
    assert "Vi bygger på fire principper:" not in [s.text for s in spans]   # a lead-in is not quoted alone


def test_selection_does_not_repeat_a_sentence_inside_a_chosen_list():
    import numpy as np

    from assistant.answer.extract import Scored
    text = "Vi bygger på:\n• tillid mellem leder og medarbejder\n• åbenhed om beslutninger"
    spans = candidate_spans(_hit(text), 0)
    hit = _hit(text)
    scores = {"list": 3.0, "item": 2.9}
    scored = [Scored(s, hit, scores[s.form], 0.8, 0.8) for s in spans]
    vecs = np.eye(len(scored), dtype=np.float32)
    chosen = select_quotes(scored, vecs, max_quotes=3)
    assert [c.span.form for c in chosen] == ["list"]


def test_a_chosen_sentence_takes_along_its_neighbour_when_the_ranker_is_torn_between_them():
    from assistant.answer.extract import Scored
    text = ("Gaver over 400 kr. skal registreres i gaveregistret. Gaven tilhører herefter kommunen. "
            "Spørg din leder, hvis du er i tvivl.\nVi holder fast i reglerne hvert år.")
    hit = _hit(text)
    spans = [s for s in candidate_spans(hit, 0) if s.form == "sentence"]
    register, belongs, ask, yearly = spans
    vecs = np.eye(len(spans), dtype=np.float32)

    def chosen(scores):
        scored = [Scored(s, hit, sc, 0.8, 0.8) for s, sc in zip(spans, scores)]
        return [q.span.text for q in select_quotes(scored, vecs, max_quotes=3)]

    # the likelier neighbour within the margin comes along: one quote, the exact text between them
    assert chosen([2.0, 1.5, 0.5, -5.0])[0] == register.text + " " + belongs.text
    assert text[register.start - 100:belongs.end - 100] == register.text + " " + belongs.text
    # the next sentence joins the one before it just as well; only one neighbour comes along
    assert chosen([1.0, 2.0, -5.0, -5.0]) == [register.text + " " + belongs.text]
    # a neighbour outside the margin (3.0 log-odds) stays out, and so does a sentence on the next line
    assert chosen([2.0, -1.5, -5.0, -5.0]) == [register.text]
    assert chosen([-5.0, -5.0, 2.0, 1.9])[0] == ask.text
    assert select_quotes([Scored(s, hit, 1.0, 0.8, 0.8) for s in spans], vecs, join=False)[0].span.text in {
        s.text for s in spans}
