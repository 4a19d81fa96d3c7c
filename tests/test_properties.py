"""Property-based tests (hypothesis) for cleaning and chunking."""
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.ingest.chunk import chunk_document, split_units
from assistant.ingest.clean import clean_text
from assistant.types import Document

WORDS = ["vi", "taler", "ordentligt", "til", "hinanden", "byrådet", "respekt", "tillid", "æøå", "Ærlighed",
         "medarbejdere", "ledelse", "kodeks", "politik", "sociale", "medier", "2021", "Åbenhed", "og", "ikke"]
word = st.sampled_from(WORDS) | st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
                                        min_size=1, max_size=8)
sentence = st.lists(word, min_size=1, max_size=25).map(lambda ws: " ".join(ws).capitalize() + ".")
line = st.one_of(
    st.lists(sentence, min_size=1, max_size=12).map(" ".join),              # paragraph
    st.lists(word, min_size=1, max_size=4).map(" ".join),                   # heading-like
    sentence.map(lambda s: "• " + s), sentence.map(lambda s: "- " + s),     # bullets
    sentence.map(lambda s: "1. " + s), st.just(""), st.just("   "),
)
raw_text = st.lists(line, min_size=0, max_size=40).map("\n".join)


def depth(chunks, n):
    """How many chunks contain each character."""
    diff = [0] * (n + 1)
    for c in chunks:
        diff[c.start] += 1
        diff[c.end] -= 1
    out, run = [], 0
    for d in diff[:n]:
        run += d
        out.append(run)
    return out


def as_document(text: str) -> Document:
    return Document("d", "d.txt", text, "T", "Org", "politik", None)


@settings(max_examples=80, deadline=None)
@given(raw_text)
def test_cleaning_gives_normalised_text_and_is_stable(text):
    out = clean_text(text)
    assert unicodedata.is_normalized("NFC", out)
    assert all(c == "\n" or unicodedata.category(c) != "Cc" for c in out)   # no control characters
    assert clean_text(out) == out


@settings(max_examples=80, deadline=None)
@given(raw_text, st.integers(min_value=100, max_value=1200))
def test_chunks_map_back_exactly_and_lose_nothing(text, max_chars):
    doc = as_document(clean_text(text))
    chunks = chunk_document(doc, max_chars=max_chars, overlap=0)
    covered = [0] * len(doc.text)
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text and c.text.strip()
        for i in range(c.start, c.end):
            covered[i] += 1
    headings = [u for u in split_units(doc.text) if u.kind == "heading"]
    for u in headings:
        for i in range(u.start, u.end):
            covered[i] += 1
    for i, ch in enumerate(doc.text):
        if not ch.isspace():
            assert covered[i] >= 1, f"character {i} {ch!r} is in no chunk and no heading"
    # without overlap, no text is in two chunks
    assert max(depth(chunks, len(doc.text)), default=0) <= 1


@settings(max_examples=60, deadline=None)
@given(raw_text, st.integers(min_value=100, max_value=1200))
def test_overlap_repeats_only_the_previous_unit(text, max_chars):
    doc = as_document(clean_text(text))
    plain = chunk_document(doc, max_chars=max_chars, overlap=0)
    overlapping = chunk_document(doc, max_chars=max_chars, overlap=1)
    # the same text is covered (whitespace between units may fall inside or between chunks)
    cover = lambda cs: {i for c in cs for i in range(c.start, c.end) if not doc.text[i].isspace()}
    assert cover(overlapping) == cover(plain)
    for a, b in zip(overlapping, overlapping[1:]):
        assert doc.text[b.start:b.end] == b.text
        assert b.start > a.start                              # always moves forward
        if b.start < a.end:                                   # the shared part is a suffix of a, prefix of b
            shared = doc.text[b.start:a.end]
            assert a.text.endswith(shared) and b.text.startswith(shared)
    # no character sits in more than two chunks
    assert max(depth(overlapping, len(doc.text)), default=0) <= 2
