"""Browser chat in Danish (Gradio), calling Assistant.ask.

Everything from documents and questions passes ``escape.page_text`` before it is shown:
text, never Markdown or HTML.
"""

import re
import sys
from dataclasses import replace

from assistant.answer.assistant import REPHRASE, Assistant, EmptyQuestion, UnclearQuestion
from assistant.answer.compose import (
    NOT_FOUND,
    agreement_line,
    citation,
    group_by_document,
    missing_line,
    no_direct_answer_line,
)
from assistant.answer.retrieve import FilterError, Filters
from assistant.state.feedback import FeedbackStore, TooManyVotes
from assistant.types import Quote
from assistant.web.escape import page_text
from assistant.web.pages import attr
from assistant.web.sessions import ANONYMOUS

EXAMPLES = [
    "hvad siger kodekset om sociale medier?",
    "Hvad er den gensidige initiativpligt?",
    "hvad siger personalepolitikken om balance mellem arbejde og fritid",
    "hvordan defineres ledelse",
]
ALL = "Alle"
FILTER_REFUSED = "Filteret kan ikke bruges: vælg en organisation og en dokumenttype på listerne."


def answer_messages(answer) -> list[tuple[str, object]]:
    """The chat messages for one answer: (markdown, quote to open on click or None).

    Each quote is its own message with its citation, so clicking it opens the source at
    that passage. A comparison is one card per organisation (the quotes themselves are in the
    side-by-side panel, ``comparison_html``); when the named organisation does not cover the
    question, that comes first and other organisations' quotes follow, labelled as theirs.
    All document and question text is escaped.
    """
    esc = page_text
    head = [esc(n) for n in answer.notes]
    if answer.understood:
        head.insert(0, f"*{esc(answer.understood)}*")
    out: list[tuple[str, object]] = []
    if answer.compared and answer.by_organisation:
        head.append(f"Svar fra {len(answer.by_organisation)} organisationer, side om side under samtalen "
                    "(klik på et citat for at se kilden):")
        out.append(("\n\n".join(head), None))
        for g in answer.by_organisation:
            body = [f"**{esc(g.organisation)}**"]
            body += [quote_in_context(q) for q in g.quotes[:1]] or [esc(g.note)]
            if len(g.quotes) > 1:
                body.append(f"(+{len(g.quotes) - 1} citat{'er' if len(g.quotes) > 2 else ''} mere)")
            out.append(("\n\n".join(body), g.quotes[0] if g.quotes else None))
        return out
    if answer.not_in_scope:
        head += [esc(g.note) for g in answer.by_organisation if g.note]
        if answer.others:
            head.append("Det siger andre organisationer (ikke dem, du spurgte om):")
        else:
            head.append("Det gør ingen af de andre dokumenter heller.")
        out.append(("\n\n".join(head), None))
        out += [(f"*{esc(q.organisation)}:*\n\n{quote_in_context(q)}\n\nKilde: **{esc(citation(q))}**", q)
                for q in answer.others]
        out += [(f"{esc(q.text[:200], 'lines')}{'…' if len(q.text) > 200 else ''}\n\nKilde: *{esc(citation(q))}*", q)
                for q in answer.related]
        return out
    if answer.abstained:
        verdict = answer.verdict
        if verdict is not None and verdict.outcome == "no_direct_answer":    # the subject is there, the detail not
            head.append(esc(no_direct_answer_line(verdict.missing_kind)))
        else:
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
    out += [(f"{quote_in_context(q)}\n\nKilde: **{esc(citation(q))}**", q) for qs in groups.values() for q in qs]
    return out


_MARKER = re.compile(r"^(•|-|–|\d{1,2}[.)])$")


def quote_in_context(q) -> str:
    """A quote card's text: the quote marked, with the sentence before and after it from the same passage
    dimmed (shown to read it by, not cited), lines kept (a list reads as a list); escaped."""
    esc = lambda text: page_text(text, "inline")
    dim = lambda text: f'<span class="kontekst">{esc(text)}</span>' if text.strip() else ""
    before, after = q.before.split("\n"), q.after.split("\n")
    same_line = before.pop()                         # what precedes the quote on its own line
    lead = same_line.strip() if _MARKER.match(same_line.strip()) else ""    # its item's bullet: not dimmed
    middle = " ".join(x for x in (
        "" if lead else dim(same_line), esc(lead),
        "<br>".join(f'<mark class="citat">{esc(x)}</mark>' for x in q.text.split("\n") if x.strip()),
        dim(after[0])) if x)
    shown = [dim(x) for x in before] + [middle] + [dim(x) for x in after[1:]]
    return "> " + "<br>".join(x for x in shown if x)


def voter(viewer, request) -> str:
    """Whose votes a rate limit counts: the logged-in account, else the connection's address; never the
    browser's self-chosen ``session_hash`` (a client could take a new one for every vote)."""
    if viewer.user is not None:
        return f"user:{viewer.user.name}"
    client = getattr(request, "client", None)
    return f"address:{getattr(client, 'host', None) or '?'}"


def answer_markdown(answer) -> str:
    """The whole answer as one Markdown text (escaped)."""
    return "\n\n".join(md for md, _ in answer_messages(answer))


def why_html(why) -> str:
    """"Hvorfor dette citat?" folded open on demand above the source."""
    if why is None:
        return ""
    items = "".join(f"<li>{page_text(line)}</li>" for line in why.lines())
    return f"<details class='hvorfor'><summary>Hvorfor dette citat?</summary><ul>{items}</ul></details>"


def comparison_html(answer, keys: list[str]) -> str:
    """One column per organisation: its quotes (each with ``data-kilde`` = its key in the chat state, opened
    in the source panel on click) or that it does not mention it."""
    cols, i = [], 0
    for g in answer.by_organisation:
        body = []
        for q in g.quotes:
            before = f"<span class='kontekst'>{page_text(q.before)}</span> " if q.before else ""
            after = f" <span class='kontekst'>{page_text(q.after)}</span>" if q.after else ""
            body.append(f"<button type='button' class='citat' data-kilde='{attr(keys[i])}'>"
                        f"{before}<span class='tekst'>{page_text(q.text, 'lines')}</span>{after}"
                        f"<span class='kilde-ref'>{page_text(citation(q))}</span></button>")
            i += 1
        if not g.quotes:
            body.append(f"<p class='naevner-ikke'>{page_text(g.note)}</p>")
        cols.append(f"<section class='org-kolonne' data-organisation='{attr(g.organisation)}'>"
                    f"<h4>{page_text(g.organisation)}</h4>{''.join(body)}</section>")
    return f"<div class='sammenligning'>{''.join(cols)}</div>"


NO_SOURCE = "<p class='hint'>Dokumentet findes ikke (længere) i indekset.</p>"


def source_html(assistant: Assistant, quote, internal: bool = False, why=None) -> str:
    """The whole cleaned document with the quoted passage highlighted (scrolled into view by JS), and
    "Hvorfor dette citat?" above it. An internal document is shown only to readers who may see it
    (``internal``)."""
    doc = assistant.index.documents.get(quote.document)
    if doc is None or (doc.internal and not internal) or not 0 <= quote.start <= quote.end <= len(doc.text):
        return NO_SOURCE
    before, mid, after = doc.text[:quote.start], doc.text[quote.start:quote.end], doc.text[quote.end:]
    meta = " · ".join(x for x in (doc.organisation, doc.title, doc.doc_type, doc.date or "") if x)
    return (f"<div class='kilde'><h3>{page_text(doc.title)}</h3><p><em>{page_text(meta)}</em></p>{why_html(why)}"
            f"<pre style='white-space:pre-wrap;font-family:inherit'>{page_text(before, 'verbatim')}"
            f"<mark id='citat'>{page_text(mid, 'verbatim')}</mark>{page_text(after, 'verbatim')}</pre></div>")


def overview(assistant: Assistant, internal: bool = False) -> str:
    rows = ["| Organisation | Dokument | Type | Dato |", "|---|---|---|---|"]
    docs = assistant.index.visible_documents(internal).values()
    for d in sorted(docs, key=lambda d: (d.organisation, d.title)):
        mark = " (intern)" if d.internal else ""
        rows.append(f"| {page_text(d.organisation)} | {page_text(d.title)}{mark} | {page_text(d.doc_type)} "
                    f"| {page_text(d.date) or '–'} |")
    return "\n".join(rows)


def filter_choices(assistant: Assistant, internal: bool = False) -> tuple[list[str], list[str]]:
    """Organisations and types in the filters: of the documents this reader may see."""
    docs = assistant.index.visible_documents(internal).values()
    return [ALL] + sorted({d.organisation for d in docs}), [ALL] + sorted({d.doc_type for d in docs})


def _theme():
    """Gradio's default look with the system's fonts: the page loads nothing from outside 127.0.0.1."""
    import gradio as gr
    fonts = [gr.themes.Font("system-ui"), gr.themes.Font("sans-serif")]
    return gr.themes.Default(font=fonts, font_mono=[gr.themes.Font("ui-monospace"), gr.themes.Font("monospace")])


CSS = """
#kilde { max-height: 70vh !important; overflow-y: auto !important; }
#kilde mark { background: #ffe066; padding: 0 2px; }
#samtale .kontekst, #sammenligning .kontekst { opacity: 0.55; }
#samtale mark.citat { background: #fff3b0; color: inherit; padding: 0 2px; }
#kilde details.hvorfor { margin: 0 0 8px; padding: 4px 8px; border: 1px solid #ddd; border-radius: 6px; }
#sammenligning .sammenligning { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 10px; }
#sammenligning .org-kolonne { border: 1px solid #ddd; border-radius: 8px; padding: 8px; }
#sammenligning .org-kolonne h4 { margin: 0 0 6px; }
#sammenligning button.citat { display: block; width: 100%; text-align: left; margin: 0 0 8px; padding: 6px;
  border: 1px solid #eee; border-radius: 6px; background: #fafafa; cursor: pointer; font: inherit; }
#sammenligning button.citat:hover { background: #fff6cc; }
#sammenligning .kilde-ref { display: block; font-size: 0.85em; font-style: italic; margin-top: 4px; }
#sammenligning .naevner-ikke { font-style: italic; }
footer { display: none !important; }
#bruger { text-align: right; font-size: .92em; }
#bruger .muted { color: #6b7280; }
#bruger button { border: 1px solid #cbd5e1; border-radius: 4px; padding: 0 .5em; background: transparent; cursor: pointer; }
"""
SCROLL_JS = ("() => { setTimeout(() => document.getElementById('citat')"
             "?.scrollIntoView({block: 'center', behavior: 'instant'}), 300); }")
SOURCE_HINT = "<p class='hint'>Klik på et citat i samtalen for at se det i dokumentet.</p>"
PANEL_JS = ("element.addEventListener('click', (e) => { const b = e.target.closest('[data-kilde]');"
            " if (b) trigger('click', {kilde: b.dataset.kilde}); });")


def build_app(assistant: Assistant, feedback: FeedbackStore | None = None, viewer_of=None):
    """The chat. ``viewer_of(request)`` says who asks (web/app.py's session layer); without it everyone
    is anonymous and sees public documents only."""
    import gradio as gr

    from assistant.web.pages import user_line

    assistant.warm_up()       # load once at start-up, with the model: the first question is not slow
    assistant.ask(EXAMPLES[0])
    feedback = feedback or FeedbackStore(assistant.settings.data_dir)
    viewer_of = viewer_of or (lambda request: ANONYMOUS)
    orgs, types = filter_choices(assistant)      # the page as first sent shows public documents only

    def on_load(request: gr.Request):
        viewer = viewer_of(request)
        o, t = filter_choices(assistant, viewer.internal)
        return user_line(viewer), gr.update(choices=o), gr.update(choices=t), overview(assistant, viewer.internal)

    def respond(message, history, org, dtype, state, request: gr.Request):
        history = list(history or [])
        state = dict(state or {})
        message = str(message or "")
        try:
            filters = Filters(None if org in (ALL, None, "") else org, None if dtype in (ALL, None, "") else dtype)
        except FilterError:
            history.append({"role": "assistant", "content": FILTER_REFUSED})
            return history, "", state, gr.update(), gr.update()
        try:
            answer = assistant.ask(message, replace(filters, internal=viewer_of(request).internal),
                                   previous=state.get("scope"))
        except UnclearQuestion:
            history.append({"role": "assistant", "content": REPHRASE})
            return history, "", state, gr.update(), gr.update()
        except EmptyQuestion:
            history.append({"role": "assistant", "content": "Skriv et spørgsmål, fx »hvad siger kodekset om sociale medier?«"})
            return history, "", state, gr.update(), gr.update()
        # as answered (a follow-up is read with the previous question) and as used (cut at the question limit)
        question = answer.question
        scope = answer.scope.to_json() if answer.scope is not None else None
        messages = dict(state.get("messages") or {})
        shown_q = message if len(message) <= 2000 else message[:2000] + " …"
        history.append({"role": "user", "content": page_text(shown_q)})
        shown = [q.to_json() for q in answer.quotes]
        chosen = {"organisation": filters.organisation, "doc_type": filters.doc_type}   # the filters, for votes
        for md, quote in answer_messages(answer):
            # what a click (source) and a thumb (feedback) on this message refer to
            messages[str(len(history))] = {"question": question, "abstained": answer.abstained, "scope": scope,
                                           "filters": chosen,
                                           "quote": quote.to_json() if quote else None,
                                           "quotes": [quote.to_json()] if quote and not answer.abstained else shown}
            history.append({"role": "assistant", "content": md})
        panel = ""
        if answer.compared and answer.by_organisation:
            keys = []
            for q in (q for g in answer.by_organisation for q in g.quotes):
                key = f"p{len(messages)}"
                messages[key] = {"question": question, "abstained": False, "scope": scope, "filters": chosen,
                                 "quote": q.to_json(), "quotes": [q.to_json()]}
                keys.append(key)
            panel = comparison_html(answer, keys)
        state = {"scope": scope, "messages": messages}
        return history, "", state, SOURCE_HINT, panel

    def _message(state, index):
        i = index[0] if isinstance(index, (list, tuple)) else index
        return ((state or {}).get("messages") or {}).get(str(i))

    def _source(m, request):
        try:
            quote = Quote(**m["quote"])
        except TypeError:
            return NO_SOURCE
        internal = viewer_of(request).internal
        try:
            why = assistant.why(m["question"], quote, m.get("scope"), internal=internal)
        except Exception as exc:                       # the source matters more than the explanation
            print(f"why: {exc}", file=sys.stderr, flush=True)
            why = None
        return source_html(assistant, quote, internal, why)

    def open_source(state, evt: gr.SelectData, request: gr.Request):
        m = _message(state, evt.index)
        if not m or not m.get("quote"):
            return gr.update()
        return _source(m, request)

    def open_panel_source(state, evt: gr.EventData, request: gr.Request):
        m = _message(state, (getattr(evt, "_data", None) or {}).get("kilde"))
        if not m or not m.get("quote"):
            return gr.update()
        return _source(m, request)

    def rate(state, evt: gr.LikeData, request: gr.Request):
        m = _message(state, evt.index)
        if not m:
            return
        try:
            feedback.record(m["question"], evt.liked is True, m["abstained"], m["quotes"], assistant.index.version,
                            filters=m.get("filters"), session=voter(viewer_of(request), request))
        except TooManyVotes:
            gr.Warning("For mange stemmer på et minut; prøv igen om lidt.")
        except (OSError, ValueError) as exc:
            print(f"feedback not saved: {exc}", file=sys.stderr, flush=True)
            gr.Warning("Din stemme kunne ikke gemmes.")

    with gr.Blocks(title="Kodeks-assistenten") as app:
        gr.Markdown("# Kodeks-assistenten\nSpørg om kommunernes adfærdskodekser, samarbejdskodekser og "
                    "personale-, ledelses- og værdipolitikker. Svarene er ordrette citater med kilde; "
                    "klik på et citat for at se det i dokumentet, og giv gerne tommel op eller ned.")
        who = gr.HTML("", elem_id="bruger")
        state = gr.State({})
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Samtale", height=520, elem_id="samtale", latex_delimiters=[],
                                  group_consecutive_messages=False, buttons=["copy"])
                panel = gr.HTML("", elem_id="sammenligning", js_on_load=PANEL_JS)
                box = gr.Textbox(label="Dit spørgsmål", placeholder="fx hvad siger kodekset om sociale medier?",
                                 elem_id="spoergsmaal")
                send = gr.Button("Spørg", variant="primary", elem_id="spoerg")
                with gr.Row():
                    org = gr.Dropdown(orgs, value=ALL, label="Organisation", allow_custom_value=True,
                                      info="Navn eller kaldenavn, fx KFR eller Borgerrepræsentationen")
                    dtype = gr.Dropdown(types, value=ALL, label="Dokumenttype", allow_custom_value=True)
                gr.Examples(EXAMPLES, inputs=box, label="Eksempler")
            with gr.Column(scale=2):
                gr.Markdown("### Kilde")
                source = gr.HTML(SOURCE_HINT, elem_id="kilde")
                with gr.Accordion("Dokumenter i indekset", open=False):
                    docs = gr.Markdown(overview(assistant), elem_id="oversigt", latex_delimiters=[])
        outputs = [chat, box, state, source, panel]
        send.click(respond, [box, chat, org, dtype, state], outputs, api_name="ask")
        box.submit(respond, [box, chat, org, dtype, state], outputs, api_name=False)
        chat.select(open_source, [state], source, api_name=False).then(None, js=SCROLL_JS)
        panel.click(open_panel_source, [state], source, api_name=False).then(None, js=SCROLL_JS)
        chat.like(rate, [state], None, api_name=False)
        app.load(on_load, None, [who, org, dtype, docs], api_name=False)
    return app
