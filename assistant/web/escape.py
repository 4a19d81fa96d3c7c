"""The one escaping function for everything that reaches the page from documents or users.

The chat and the document overview are rendered as Markdown and the source panel as HTML.
``page_text`` makes a string show as itself in both: ``& < >`` become HTML entities and
every character Markdown (or Gradio's LaTeX) gives a meaning to becomes a numeric character
reference, which both Markdown and HTML show as the plain character and never read as
syntax. So ``![x](http://…)`` stays those characters (no image, no request), ``<img>``
and ``<script>`` stay text, ``|`` cannot split a table cell, ``# `` cannot start a heading.
Letters, digits, spaces and ordinary punctuation (``. , ; ? ' "``) are left alone, so the
wire text stays readable.
"""
from __future__ import annotations

import re

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKUP = "\\`*_[](){}#+-!|~$=:^"
_TABLE = str.maketrans({**_ENTITIES, **{c: f"&#{ord(c)};" for c in _MARKUP}})
_ORDERED = re.compile(r"^(\s*\d+)\.", re.M)          # "1. " at a line start would begin a list
MODES = ("inline", "lines", "verbatim")


def page_text(s: str | None, mode: str = "inline") -> str:
    """``s`` made safe to show as text in Markdown or HTML.

    mode: ``inline`` (titles, types, dates, citations, table cells: one line, whitespace
    runs become one space), ``lines`` (quotes in the chat: lines kept, blank lines and
    indentation dropped so a quote stays one block), ``verbatim`` (the document in the source
    panel's ``<pre>``: whitespace kept exactly).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    s = "" if s is None else str(s)
    if mode == "inline":
        s = " ".join(s.split())
    elif mode == "lines":
        s = "\n".join(" ".join(line.split()) for line in s.splitlines() if line.strip())
    return _ORDERED.sub(r"\1&#46;", s.translate(_TABLE))
