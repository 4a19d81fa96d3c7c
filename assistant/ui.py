"""Browser chat in Danish (Gradio), calling Assistant.ask.

Everything from documents and questions is HTML-escaped before it is shown.
"""

import html
import os
import re

from .answer import NOT_FOUND, agreement_line, citation, group_by_document, missing_line
from .pipeline import Assistant, EmptyQuestion
from .feedback import FeedbackStore
from .retrieve import Filters
from .types import Quote

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


def answer_messages(answer) -> list[tuple[str, object]]:
    """The chat messages for one answer: (markdown, quote to open on click or None).

    Each quote is its own message with its citation, so clicking it opens the source at
    that passage. All document and question text is escaped.
    """
    esc = lambda s: html.escape(s, quote=False)
    head = [esc(n) for n in answer.notes]
    out: list[tuple[str, object]] = []
    if answer.abstained:
        head.append(NOT_FOUND)
        if answer.missing_terms:
            head.append(esc(missing_line(answer.missing_terms)))
        if answer.related:
            head.append("Måske relateret (klik for at se kilden):")
        out.append(("\n\n".join(head), None))
        out += [(f"{esc(q.text[:200])}{'…' if len(q.text) > 200 else ''}\n\nKilde: *{esc(citation(q))}*", q)
                for q in answer.related]
        return out
    groups = group_by_document(answer.quotes)     # agreeing documents side by side, as in Answer.text
    if agreed := agreement_line(groups):
        head.append(agreed)
    if head:
        out.append(("\n\n".join(head), None))
    out += [(f"> {esc(q.text)}\n\nKilde: **{esc(citation(q))}**", q) for qs in groups.values() for q in qs]
    return out


def answer_markdown(answer) -> str:
    """The whole answer as one Markdown text (escaped)."""
    return "\n\n".join(md for md, _ in answer_messages(answer))


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


CSS = """
#kilde { max-height: 70vh !important; overflow-y: auto !important; }
#kilde mark { background: #ffe066; padding: 0 2px; }
footer { display: none !important; }
"""
SCROLL_JS = ("() => { setTimeout(() => document.getElementById('citat')"
             "?.scrollIntoView({block: 'center', behavior: 'instant'}), 300); }")
SOURCE_HINT = "<p class='hint'>Klik på et citat i samtalen for at se det i dokumentet.</p>"


def build_app(assistant: Assistant, feedback: FeedbackStore | None = None):
    import gradio as gr

    assistant.warm_up()       # load once at start-up, with the model: the first question is not slow
    index = assistant.index
    assistant.ask(EXAMPLES[0])
    feedback = feedback or FeedbackStore(assistant.settings.data_dir)
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
            return history, "", state, gr.update()
        messages = dict(state.get("messages") or {})
        shown_q = message if len(message) <= 2000 else message[:2000] + " …"
        history.append({"role": "user", "content": html.escape(shown_q, quote=False)})
        shown = [q.to_json() for q in answer.quotes]
        for md, quote in answer_messages(answer):
            # what a click (source) and a thumb (feedback) on this message refer to
            messages[str(len(history))] = {"question": question, "abstained": answer.abstained,
                                           "quote": quote.to_json() if quote else None,
                                           "quotes": [quote.to_json()] if quote and not answer.abstained else shown}
            history.append({"role": "assistant", "content": md})
        state = {"previous": question, "messages": messages}
        return history, "", state, SOURCE_HINT

    def _message(state, index):
        i = index[0] if isinstance(index, (list, tuple)) else index
        return ((state or {}).get("messages") or {}).get(str(i))

    def open_source(state, evt: gr.SelectData):
        m = _message(state, evt.index)
        if not m or not m["quote"]:
            return gr.update()
        return source_html(assistant, Quote(**m["quote"]))

    def rate(state, evt: gr.LikeData):
        m = _message(state, evt.index)
        if m:
            feedback.record(m["question"], evt.liked is True, m["abstained"], m["quotes"], assistant.index.version)

    with gr.Blocks(title="Kodeks-assistenten") as app:
        gr.Markdown("# Kodeks-assistenten\nSpørg om kommunernes adfærdskodekser, samarbejdskodekser og "
                    "personale-, ledelses- og værdipolitikker. Svarene er ordrette citater med kilde; "
                    "klik på et citat for at se det i dokumentet, og giv gerne tommel op eller ned.")
        state = gr.State({})
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Samtale", height=520, elem_id="samtale",
                                  group_consecutive_messages=False, buttons=["copy"])
                box = gr.Textbox(label="Dit spørgsmål", placeholder="fx hvad siger kodekset om sociale medier?",
                                 elem_id="spoergsmaal")
                send = gr.Button("Spørg", variant="primary", elem_id="spoerg")
                with gr.Row():
                    org = gr.Dropdown(orgs, value=ALL, label="Organisation")
                    dtype = gr.Dropdown(types, value=ALL, label="Dokumenttype")
                gr.Examples(EXAMPLES, inputs=box, label="Eksempler")
            with gr.Column(scale=2):
                gr.Markdown("### Kilde")
                source = gr.HTML(SOURCE_HINT, elem_id="kilde")
                with gr.Accordion("Dokumenter i indekset", open=False):
                    gr.Markdown(overview(assistant))
        outputs = [chat, box, state, source]
        send.click(respond, [box, chat, org, dtype, state], outputs, api_name="ask")
        box.submit(respond, [box, chat, org, dtype, state], outputs, api_name=False)
        chat.select(open_source, [state], source, api_name=False).then(None, js=SCROLL_JS)
        chat.like(rate, [state], None, api_name=False)
    return app


def serve(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860) -> None:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    app = build_app(assistant)
    app.queue(default_concurrency_limit=4).launch(server_name=host, server_port=port, show_error=False, css=CSS)
