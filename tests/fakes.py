"""A fast deterministic embedder for unit tests of everything but the model."""
import hashlib
import re

import numpy as np


class FakeEmbedder:
    """Bag of hashed words: texts sharing words get similar vectors. Counts what it embeds."""

    dim = 64

    def __init__(self, model_id="fake-embedder"):
        self.model_id = model_id
        self.embedded = 0
        self.spans_embedded = 0
        self.batches = []

    def _vec(self, text):
        v = np.zeros(self.dim, np.float32)
        for w in re.findall(r"\w+", text.lower()):
            h = int(hashlib.md5(w.encode()).hexdigest(), 16)
            v[h % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def embed_passages(self, texts):
        self.embedded += len(texts)
        self.batches.append(list(texts))
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_queries(self, texts):
        return np.stack([self._vec(t) for t in texts])

    def embed_both(self, texts):
        """Candidate quotes in both modes; counted apart from the chunks (``spans_embedded``)."""
        self.spans_embedded += len(texts)
        vecs = self.embed_queries(texts) if texts else np.zeros((0, self.dim), np.float32)
        return vecs, vecs


def make_pdf(path, pages):
    """Write a real PDF with a text layer: one list of lines per page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    for lines in pages:
        y = 800
        for line in lines:
            c.drawString(60, y, line)
            y -= 16
        c.showPage()
    c.save()
