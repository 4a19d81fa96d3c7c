"""Term coverage: which question words the documents never mention (an abstention signal)."""
from assistant.language.vocabulary import Vocabulary, content_words

DOCS = ["Byrådets adfærdskodeks. Vi taler ordentligt på sociale medier.",
        "Alle opgaver løses i fællesskab. Medarbejderne er ambassadører for kommunen.",
        "Kontakt HR, tlf. 99 31 31 31. Personalepolitikken blev opdateret i 2021."]


def test_words_of_the_documents_in_any_form_are_covered():
    v = Vocabulary(DOCS)
    assert v.check("hvad siger kodekset om sociale medier?").missing == ()       # part of a compound
    assert v.check("hvornår blev personalepolitikken opdatere").missing == ()    # inflection
    assert v.check("skal vi være ambasadører").missing == ()                     # one letter off
    assert v.check("hvad er telefonnummeret til HR").missing == ()               # "tlf." read as telefon


def test_specific_words_the_documents_never_mention_are_missing():
    v = Vocabulary(DOCS)
    assert v.check("hvor mange feriedage har jeg").missing == ("feriedage",)
    # "opgave" does not make "gave" covered: a two-letter prefix is not a compound's left part
    assert v.check("må jeg tage imod gaver").missing == ("gaver",)


def test_common_words_and_stopwords_do_not_count():
    assert content_words("Hvad er det, man skal gøre i dag?") == ["gøre", "dag"]
    v = Vocabulary(DOCS)
    assert v.check("Hvad er det, man skal gøre i dag?").missing == ()           # common in any Danish text
    assert v.check("hvad siger de om folk på sociale medier").missing == ()     # "folk" is too common to count


def test_a_word_nobody_can_read_is_not_evidence_either_way():
    """A misspelling or a name newer than the word lists cannot tell us what is asked, so the documents'
    silence about it does not raise the bar; a real word, or a compound of real words, still does."""
    v = Vocabulary(DOCS)
    assert v.check("hvad siger kodekset om pasword").missing == ()           # a misspelling
    assert v.check("hvad siger kodekset om chatgpt").missing == ()           # a name newer than the word lists
    assert v.check("hvad siger kodekset om kilometertaksten").missing == ("kilometertaksten",)   # a compound
    assert v.check("hvad siger kodekset om berusede").missing == ("berusede",)


def test_english_questions_are_recognised_and_not_checked_word_by_word():
    c = Vocabulary(DOCS).check("Is there a policy on working from home?")
    assert c.english and c.missing == ()
