"""Browser chat in Danish (Gradio), calling Assistant.ask.

Everything from documents and questions is HTML-escaped before it is shown.
"""
from __future__ import annotations

import html
import os
import re

from .answer import citation
from .pipeline import Assistant, EmptyQuestion
from .retrieve import Filters

EXAMPLES = [
    "hvad siger kodekset om sociale medier?",
    "Hvad er den gensidige initiativpligt?",
    "hvad siger personalepolitikken om balance mellem arbejde og fritid",
    "hvordan defineres ledelse",
]
ALL = "Alle"
_FOLLOW_UP = re.compile(r"^(og|hvad med|hvad så med|og i|og hos|men i|hvad i)\b", re.I)


def resolve_follow_up(question: str, previous: str | None) -> str:
    """A short follow-up ("hvad med Aarhus?", "og i personalepolitikken?") borrows the previous question."""
    q = question.strip()
    if previous and len(q.split()) <= 5 and _FOLLOW_UP.match(q):
        return f"{previous} {q}"
    return q


def answer_markdown(answer) -> str:
    """Markdown for the chat, with all document and question text escaped."""
    esc = lambda s: html.escape(s, quote=False)
    parts = [esc(n) for n in answer.notes]
    if answer.abstained:
        parts.append("Det kan jeg ikke finde et svar på i de dokumenter, jeg kender.")
        if answer.related:
            parts.append("Måske relateret:")
            parts += [f"- {esc(q.text[:160])} *({esc(citation(q))})*" for q in answer.related]
        return "\n\n".join(parts)
    for i, q in enumerate(answer.quotes, start=1):
        parts.append(f"> {esc(q.text)}\n\n[{i}] {esc(citation(q))}")
    return "\n\n".join(parts)


def source_html(assistant: Assistant, quote) -> str:
    """The whole cleaned document with the quoted passage highlighted (scrolled into view by JS)."""
    doc = assistant.index.documents[quote.document]
    before, mid, after = doc.text[:quote.start], doc.text[quote.start:quote.end], doc.text[quote.end:]
    meta = " · ".join(x for x in (doc.organisation, doc.title, doc.doc_type, doc.date or "") if x)
    return (f"<div class='kilde'><h3>{html.escape(doc.title)}</h3><p><em>{html.escape(meta)}</em></p>"
            f"<pre style='white-space:pre-wrap;font-family:inherit'>{html.escape(before)}"
            f"<mark id='citat'>{html.escape(mid)}</mark>{html.escape(after)}</pre></div>")


def overview(assistant: Assistant) -> str:
    rows = ["| Organisation | Dokument | Type | Dato |", "|---|---|---|---|"]
    for d in sorted(assistant.index.documents.values(), key=lambda d: (d.organisation, d.title)):
        rows.append(f"| {html.escape(d.organisation)} | {html.escape(d.title)} | {d.doc_type} | {d.date or '–'} |")
    return "\n".join(rows)


def build_app(assistant: Assistant):
    import gradio as gr

    index = assistant.index   # load once at start-up
    orgs = [ALL] + sorted({d.organisation for d in index.documents.values()})
    types = [ALL] + sorted({d.doc_type for d in index.documents.values()})

    def respond(message, history, org, dtype, state):
        history = list(history or [])
        state = dict(state or {})
        question = resolve_follow_up(message or "", state.get("previous"))
        try:
            answer = assistant.ask(question, Filters(None if org == ALL else org, None if dtype == ALL else dtype))
        except EmptyQuestion:
            history.append({"role": "assistant", "content": "Skriv et spørgsmål, fx »hvad siger kodekset om sociale medier?«"})
            return history, "", state, gr.update(), ""
        history.append({"role": "user", "content": html.escape(message, quote=False)})
        history.append({"role": "assistant", "content": answer_markdown(answer)})
        quotes = list(answer.quotes or answer.related)
        state = {"previous": question, "quotes": [q.to_json() for q in quotes]}
        choices = [f"[{i}] {citation(q)}" for i, q in enumerate(quotes, start=1)]
        first = source_html(assistant, quotes[0]) if quotes else ""
        return history, "", state, gr.update(choices=choices, value=choices[0] if choices else None), first

    def show_source(choice, state):
        from .types import Quote
        if not choice or not state or not state.get("quotes"):
            return ""
        i = int(choice.split("]")[0].strip("[")) - 1
        return source_html(assistant, Quote(**state["quotes"][i]))

    with gr.Blocks(title="Kodeks-assistenten") as app:
        gr.Markdown("# Kodeks-assistenten\nSpørg om kommunernes adfærdskodekser, samarbejdskodekser og "
                    "personale-, ledelses- og værdipolitikker. Svarene er ordrette citater med kilde.")
        state = gr.State({})
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Samtale", height=480)
                box = gr.Textbox(label="Dit spørgsmål", placeholder="fx hvad siger kodekset om sociale medier?")
                send = gr.Button("Spørg", variant="primary")
                with gr.Row():
                    org = gr.Dropdown(orgs, value=ALL, label="Organisation")
                    dtype = gr.Dropdown(types, value=ALL, label="Dokumenttype")
                gr.Examples(EXAMPLES, inputs=box, label="Eksempler")
            with gr.Column(scale=2):
                pick = gr.Dropdown([], label="Kilde (vælg et citat)", elem_id="kildevalg")
                source = gr.HTML(label="Kilde", elem_id="kilde")
                with gr.Accordion("Dokumenter i indekset", open=False):
                    gr.Markdown(overview(assistant))
        outputs = [chat, box, state, pick, source]
        scroll = "() => { setTimeout(() => document.getElementById('citat')?.scrollIntoView({block: 'center'}), 200); }"
        send.click(respond, [box, chat, org, dtype, state], outputs, api_name="ask").then(None, js=scroll)
        box.submit(respond, [box, chat, org, dtype, state], outputs, api_name=False).then(None, js=scroll)
        pick.change(show_source, [pick, state], source, api_name=False).then(None, js=scroll)
    return app


def serve(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860) -> None:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    app = build_app(assistant)
    app.queue(default_concurrency_limit=4).launch(server_name=host, server_port=port, show_error=False)
