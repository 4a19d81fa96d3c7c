"""The language of a document or a passage: py3langid (langid.py's model, bundled, offline), restricted
to the languages a Danish public body's pages come in. On the 1,316 development questions (46 in English)
it made no error, at 0.04 ms a question (docs/ingestion.md, "Language")."""
from __future__ import annotations

import re
from functools import lru_cache

LANGUAGES = ("da", "en", "sv", "no", "de")
SAMPLE = 5_000          # characters read of a long text (the language does not change with length)
NAMES = {"da": "dansk", "en": "engelsk", "sv": "svensk", "no": "norsk", "de": "tysk"}


@lru_cache(maxsize=1)
def _identifier():
    """Our own identifier (py3langid's module-level one is shared), limited to ``LANGUAGES``. The model is
    decompressed in memory: py3langid's loader writes it (68 MB) to a temporary file first, which fails
    on a full disk and made a build report that instead of its own write error (test_hostile_ingestion)."""
    import io
    import lzma
    from array import array

    import numpy as np
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    def typed(a: np.ndarray) -> array:            # as py3langid keeps its state machine: stdlib arrays
        out = array({2: "H", 4: "I", 8: "L"}[a.dtype.itemsize])
        out.frombytes(np.ascontiguousarray(a).tobytes())
        return out

    with lzma.open(MODEL_DIR / MODEL_FILE) as src, np.load(io.BytesIO(src.read()), allow_pickle=False) as m:
        ident = LanguageIdentifier(np.asarray(m["ptc"]), np.asarray(m["pc"]), m["classes"].tolist(), typed(m["nextmove"]),
                                   m["out_feat"].tolist(), tk_row=typed(m["nextmove_row"]))
    ident.set_languages(list(LANGUAGES))
    return ident


# Words only Danish spells so (Norwegian writes av, noen, mellom, uten, blir, våre, hva, mye, blant, gjennom,
# kanskje; Swedish av, några, mellan, utan, blir, våra, vad, mycket, bland, genom, kanske): a text that uses
# three of them is Danish without loading the model (68 MB, half a second, in every process that builds).
DANISH_ONLY = frozenset("af nogle mellem uden bliver vores hvad meget blandt gennem måske".split())
_WORD = re.compile(r"[a-zæøå]+")


def language_of(text: str, default: str = "da") -> str:
    """The ISO 639-1 code of the language ``text`` is written in (``default`` for a text without letters)."""
    sample = text[:SAMPLE]
    if not any(ch.isalpha() for ch in sample):
        return default
    if len(DANISH_ONLY.intersection(_WORD.findall(sample.lower()))) >= 3:
        return "da"
    return str(_identifier().classify(sample)[0])
