"""Browser chat in Danish (Gradio), calling Assistant.ask.

Everything from documents and questions passes ``escape.page_text`` before it is shown:
text, never Markdown or HTML.
"""

import os
import re
import sys

from .answer import NOT_FOUND, agreement_line, citation, group_by_document, missing_line
from .escape import page_text
from .feedback import FeedbackStore, TooManyVotes
from .limits import limits
from .pipeline import REPHRASE, Assistant, EmptyQuestion, UnclearQuestion, prepare_question
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
    esc = page_text
    head = [esc(n) for n in answer.notes]
    out: list[tuple[str, object]] = []
    if answer.abstained:
        head.append(NOT_FOUND)
        if answer.missing_terms:
            head.append(esc(missing_line(answer.missing_terms)))
        if answer.related:
            head.append("Måske relateret (klik for at se kilden):")
        out.append(("\n\n".join(head), None))
        out += [(f"{esc(q.text[:200], 'lines')}{'…' if len(q.text) > 200 else ''}\n\nKilde: *{esc(citation(q))}*", q)
                for q in answer.related]
        return out
    groups = group_by_document(answer.quotes)     # agreeing documents side by side, as in Answer.text
    if agreed := agreement_line(groups):
        head.append(agreed)
    if head:
        out.append(("\n\n".join(head), None))
    out += [(f"> {esc(q.text, 'lines')}\n\nKilde: **{esc(citation(q))}**", q) for qs in groups.values() for q in qs]
    return out


def answer_markdown(answer) -> str:
    """The whole answer as one Markdown text (escaped)."""
    return "\n\n".join(md for md, _ in answer_messages(answer))


def source_html(assistant: Assistant, quote) -> str:
    """The whole cleaned document with the quoted passage highlighted (scrolled into view by JS)."""
    doc = assistant.index.documents[quote.document]
    before, mid, after = doc.text[:quote.start], doc.text[quote.start:quote.end], doc.text[quote.end:]
    meta = " · ".join(x for x in (doc.organisation, doc.title, doc.doc_type, doc.date or "") if x)
    return (f"<div class='kilde'><h3>{page_text(doc.title)}</h3><p><em>{page_text(meta)}</em></p>"
            f"<pre style='white-space:pre-wrap;font-family:inherit'>{page_text(before, 'verbatim')}"
            f"<mark id='citat'>{page_text(mid, 'verbatim')}</mark>{page_text(after, 'verbatim')}</pre></div>")


def overview(assistant: Assistant) -> str:
    rows = ["| Organisation | Dokument | Type | Dato |", "|---|---|---|---|"]
    for d in sorted(assistant.index.documents.values(), key=lambda d: (d.organisation, d.title)):
        rows.append(f"| {page_text(d.organisation)} | {page_text(d.title)} | {page_text(d.doc_type)} "
                    f"| {page_text(d.date) or '–'} |")
    return "\n".join(rows)


def _theme():
    """Gradio's default look with the system's fonts: the page loads nothing from outside 127.0.0.1."""
    import gradio as gr
    fonts = [gr.themes.Font("system-ui"), gr.themes.Font("sans-serif")]
    return gr.themes.Default(font=fonts, font_mono=[gr.themes.Font("ui-monospace"), gr.themes.Font("monospace")])


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
        message = str(message or "")
        question = resolve_follow_up(message, state.get("previous"))
        filters = Filters(None if org == ALL else org, None if dtype == ALL else dtype)
        try:
            answer = assistant.ask(question, filters)
        except UnclearQuestion:
            history.append({"role": "assistant", "content": REPHRASE})
            return history, "", state, gr.update()
        except EmptyQuestion:
            history.append({"role": "assistant", "content": "Skriv et spørgsmål, fx »hvad siger kodekset om sociale medier?«"})
            return history, "", state, gr.update()
        question = answer.question          # as used: cut at the question limit, so state and votes stay small
        messages = dict(state.get("messages") or {})
        shown_q = message if len(message) <= 2000 else message[:2000] + " …"
        history.append({"role": "user", "content": page_text(shown_q)})
        shown = [q.to_json() for q in answer.quotes]
        scope = {"organisation": filters.organisation, "doc_type": filters.doc_type}
        for md, quote in answer_messages(answer):
            # what a click (source) and a thumb (feedback) on this message refer to
            messages[str(len(history))] = {"question": question, "abstained": answer.abstained, "filters": scope,
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

    def rate(state, evt: gr.LikeData, request: gr.Request):
        m = _message(state, evt.index)
        if not m:
            return
        try:
            feedback.record(m["question"], evt.liked is True, m["abstained"], m["quotes"], assistant.index.version,
                            filters=m.get("filters"), session=getattr(request, "session_hash", None) or "?")
        except TooManyVotes:
            gr.Warning("For mange stemmer på et minut; prøv igen om lidt.")
        except (OSError, ValueError) as exc:
            print(f"feedback not saved: {exc}", file=sys.stderr, flush=True)
            gr.Warning("Din stemme kunne ikke gemmes.")

    with gr.Blocks(title="Kodeks-assistenten") as app:
        gr.Markdown("# Kodeks-assistenten\nSpørg om kommunernes adfærdskodekser, samarbejdskodekser og "
                    "personale-, ledelses- og værdipolitikker. Svarene er ordrette citater med kilde; "
                    "klik på et citat for at se det i dokumentet, og giv gerne tommel op eller ned.")
        state = gr.State({})
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Samtale", height=520, elem_id="samtale", latex_delimiters=[],
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
                    gr.Markdown(overview(assistant), latex_delimiters=[])
        outputs = [chat, box, state, source]
        send.click(respond, [box, chat, org, dtype, state], outputs, api_name="ask")
        box.submit(respond, [box, chat, org, dtype, state], outputs, api_name=False)
        chat.select(open_source, [state], source, api_name=False).then(None, js=SCROLL_JS)
        chat.like(rate, [state], None, api_name=False)
    return app


def serve(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860) -> None:
    from starlette.middleware import Middleware

    from .guard import RequestGuard

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    lim = limits()
    app = build_app(assistant)
    app.queue(default_concurrency_limit=4).launch(
        server_name=host, server_port=port, show_error=False, css=CSS, theme=_theme(),
        max_file_size=lim.upload_bytes, enable_monitoring=lim.monitoring,
        app_kwargs={"middleware": [Middleware(RequestGuard, upload_bytes=lim.upload_bytes)]})
