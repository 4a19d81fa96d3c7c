"""Resource limits: what one file, one vote or one request may cost.

Every limit is a setting with a default chosen far above what a real policy document or
a real user needs, and an environment variable that changes it (README, "Limits"). A
refusal names the file (or the request) and the limit, so a user knows which setting to
raise if a real document hits it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields

MB = 1024 * 1024
QUESTION_CHARS = 1000      # a question is cut here (the abstention rule was calibrated on ordinary lengths)
FILTER_CHARS = 200         # an organisation or document-type filter is a name; a longer value is refused before any work


@dataclass(frozen=True)
class Limits:
    # ingestion (each refusal skips that file and names the limit; the rest is indexed)
    text_bytes: int = 10 * MB            # .txt .md .html: about 5 000 pages
    binary_bytes: int = 100 * MB         # .pdf .docx as stored (may carry images)
    docx_unzipped_bytes: int = 200 * MB  # sum of the declared sizes of a DOCX's parts, before unpacking
    docx_parts: int = 2000               # parts (files) inside a DOCX
    pdf_pages: int = 2000
    pdf_seconds: float = 30.0            # text extraction time per PDF
    chunks_per_document: int = 3000      # about 2.7 MB of text at 900 characters a chunk
    heading_chars: int = 200             # longer heading lines are cut in the section path
    # feedback (thumbs up/down in the chat)
    feedback_record_bytes: int = 32 * 1024   # one vote as stored; quotes are cut to fit
    feedback_file_bytes: int = 10 * MB       # feedback.jsonl is rotated to feedback.1.jsonl … beyond this
    feedback_files: int = 5                  # rotated files kept: at most (1 + this) × feedback_file_bytes
    votes_per_minute: int = 20               # per browser session
    # server
    upload_bytes: int = 1 * MB           # Gradio's upload route (the chat has no file inputs)
    document_upload_bytes: int = 20 * MB  # one document uploaded on the administration page
    request_bytes: int = 2 * MB          # any other request body (a chat event with its history, a form)
    monitoring: bool = False             # Gradio's /monitoring routes

    @classmethod
    def from_env(cls) -> "Limits":
        values = {}
        for f in fields(cls):
            raw = os.environ.get(ENV[f.name])
            if raw is None or raw == "":
                continue
            kind = type(f.default)
            try:
                if kind is bool:
                    values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
                else:
                    values[f.name] = kind(raw)
            except ValueError:
                raise ValueError(f"{ENV[f.name]}={raw!r} is not a valid {kind.__name__}") from None
            if kind is not bool and values[f.name] < 0:
                raise ValueError(f"{ENV[f.name]} must not be negative")
        return cls(**values)


ENV = {f.name: "ASSISTANT_" + f.name.upper() for f in fields(Limits)}


def limits() -> Limits:
    """The limits in force now (read from the environment on each call: cheap, and tests can change them)."""
    return Limits.from_env()
