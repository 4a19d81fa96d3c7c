"""A real browser (Debian's Chromium, driven by Playwright) against `assistant serve`."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT
from serving import build_index, running_server

from assistant.evaluation.evaluate import load_gold

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts"
PAYLOAD = "<script>window.__pwned = 1</script> <img src=x onerror=\"window.__pwned = 2\">"
SOCIAL = "Vi taler og skriver ordentligt til, om og med hinanden ved møder, uden for møder og på sociale medier"
CITATION = "Aalborg Kommune · Byrådets adfærdskodeks · Respekt og ligebehandling"
IMG_TEXT = "![spor](http://evil.example/spor.png)"
IMG_META = {"title": "![titel](http://evil.example/t.png) <b>Fed</b>\nlinje to", "organisation": "Testby Kommune",
            "doc_type": "<img src=http://evil.example/type.png>", "date": "![dato](http://evil.example/d.png) | 2024"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("corpus")
    for f in CORPUS.iterdir():
        shutil.copy(f, corpus / f.name)
    # a hostile document: its markup must show as text and never run
    (corpus / "fjendtlig-test.txt").write_text(
        f"Testdokument om kagebord\n\nKagebordsregler\n\nReglerne for kagebordet er: {PAYLOAD} og mere kage.\n",
        encoding="utf-8")
    # Markdown image syntax in the text, HTML and images in the metadata (sidecar): all shown as text
    (corpus / "billede-test.txt").write_text(
        f"Billedpolitik\n\nBilleder i mails\n\nOm billeder i mails gælder: {IMG_TEXT} må aldrig indsættes.\n",
        encoding="utf-8")
    (corpus / "billede-test.meta.json").write_text(json.dumps(IMG_META), encoding="utf-8")
    index, data = tmp_path_factory.mktemp("index"), tmp_path_factory.mktemp("data")
    build_index(corpus, index)
    with running_server(index, data=data) as url:
        yield url, data, index


@pytest.fixture()
def page():
    from playwright.sync_api import sync_playwright
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run `make chromium` (make test does)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 900})
        yield pg
        browser.close()


def ask_in_browser(page, url, question):
    page.goto(url)
    page.locator("#spoergsmaal textarea").fill(question)
    page.locator("#spoerg").click()


@pytest.mark.browser
def test_ask_click_citation_see_highlighted_source_and_rate(site, page, tmp_path):
    from playwright.sync_api import expect
    url, data, index = site
    ask_in_browser(page, url, "hvad siger kodekset om sociale medier?")
    chat = page.locator("#samtale")
    expect(chat.get_by_text(SOCIAL).first).to_be_visible(timeout=120_000)
    citation = chat.get_by_text(CITATION).first
    expect(citation).to_be_visible()
    expect(page.locator("#kilde mark")).to_have_count(0)          # nothing open before the click
    # the quote marked inside its passage: the item before and after it shown dimmed around it
    card = chat.locator(".message-row").filter(has=page.locator("mark.citat", has_text=SOCIAL)).first
    expect(card.locator("mark.citat")).to_have_text(SOCIAL)
    context = card.locator(".kontekst")
    expect(context).to_have_count(2)
    expect(context.first).to_contain_text("Vi værdsætter mangfoldighed")
    assert float(context.first.evaluate("e => getComputedStyle(e).opacity")) < 1.0

    citation.click()
    mark = page.locator("#kilde mark#citat")
    expect(mark).to_have_text(SOCIAL, timeout=30_000)
    expect(page.locator("#kilde")).to_contain_text("Byrådets adfærdskodeks")
    page.wait_for_function(                                          # scrolled into the panel's view
        """() => { const m = document.querySelector('#kilde mark#citat'), p = document.querySelector('#kilde');
                   if (!m || !p) return false; const a = m.getBoundingClientRect(), b = p.getBoundingClientRect();
                   return a.top >= b.top && a.bottom <= b.bottom && a.bottom <= window.innerHeight; }""",
        timeout=10_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat.png"))

    # thumbs up on the quote: stored locally, exported as a gold line
    quote_message = chat.locator(".message-wrap .message-row").filter(has_text=SOCIAL).first
    quote_message.hover()
    # the quote's own thumbs up: each quote is a message of its own; its buttons follow its row
    assert page.evaluate("""(text) => {
        const rows = [...document.querySelectorAll('#samtale .message-row')];
        for (const b of document.querySelectorAll("#samtale button[aria-label='Like']")) {
            const before = rows.filter(r => r.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING);
            const row = before[before.length - 1];
            if (row && (row.innerText || '').includes(text)) { b.click(); return true; }
        }
        return false; }""", SOCIAL)
    feedback = data / "feedback.jsonl"
    for _ in range(100):
        if feedback.exists() and feedback.read_text(encoding="utf-8").strip():
            break
        page.wait_for_timeout(100)
    entry = json.loads(feedback.read_text(encoding="utf-8").splitlines()[-1])
    assert entry["liked"] is True and entry["question"] == "hvad siger kodekset om sociale medier?"
    assert entry["quotes"][0]["text"] == SOCIAL

    gold = tmp_path / "feedback-gold.jsonl"
    out = subprocess.run([sys.executable, "-m", "assistant.cli", "feedback", "export", "--data", str(data),
                          "--index", str(index), "--out", str(gold)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    [g] = load_gold([gold])
    assert g.question == "hvad siger kodekset om sociale medier?"
    assert g.matches("aalborg-byraad-adfaerdskodeks", SOCIAL)


@pytest.mark.browser
def test_markup_in_documents_and_questions_renders_as_text(site, page):
    from playwright.sync_api import expect
    url, _, _ = site
    ask_in_browser(page, url, "hvad er reglerne for kagebordet? <img src=x onerror=\"window.__pwned = 3\">")
    chat = page.locator("#samtale")
    expect(chat.get_by_text("Reglerne for kagebordet er:").first).to_be_visible(timeout=120_000)
    expect(chat).to_contain_text("<script>window.__pwned = 1</script>")
    expect(chat).to_contain_text("<img src=x onerror=\"window.__pwned = 3\">")
    chat.get_by_text("Reglerne for kagebordet er:").first.click()
    expect(page.locator("#kilde mark#citat")).to_contain_text("<img src=x onerror=")
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("#samtale img[src='x'], #kilde img[src='x'], #kilde script").count() == 0


def ask_again(page, question):
    page.locator("#spoergsmaal textarea").fill(question)
    page.locator("#spoerg").click()


@pytest.mark.browser
def test_comparison_shows_one_column_per_organisation_and_each_quote_opens_its_source(site, page):
    from playwright.sync_api import expect
    url, _, _ = site
    ask_in_browser(page, url, "Sammenlign Aalborg og Aarhus: hvad siger de om fortrolighed?")
    columns = page.locator("#sammenligning .org-kolonne")
    expect(columns).to_have_count(2, timeout=120_000)
    expect(columns.nth(0).locator("h4")).to_have_text("Aalborg Kommune")
    expect(columns.nth(1).locator("h4")).to_have_text("Aarhus Kommune")
    opened = 0
    for i, org in enumerate(["Aalborg Kommune", "Aarhus Kommune"]):
        quotes = columns.nth(i).locator("button.citat")
        assert quotes.count() >= 1, f"no quote for {org}"
        for j in range(quotes.count()):
            text = quotes.nth(j).locator(".tekst").inner_text()
            quotes.nth(j).click()
            expect(page.locator("#kilde mark#citat")).to_have_text(text, timeout=30_000)
            expect(page.locator("#kilde em").first).to_contain_text(org)
            # why this passage, on demand
            why = page.locator("#kilde details.hvorfor")
            expect(why).to_have_count(1)
            why.locator("summary").click()
            expect(why).to_contain_text("sammenligner")
            opened += 1
    assert opened >= 2
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "comparison.png"))


@pytest.mark.browser
def test_follow_up_changes_the_organisation_and_says_what_it_understood(site, page):
    from playwright.sync_api import expect
    url, _, _ = site
    chat = page.locator("#samtale")
    ask_in_browser(page, url, "hvad siger kodekset om sociale medier?")
    expect(chat.get_by_text(SOCIAL).first).to_be_visible(timeout=120_000)
    ask_again(page, "hvad med Aarhus?")
    expect(chat.get_by_text("Jeg har forstået: »hvad siger kodekset om sociale medier?«").first).to_be_visible(
        timeout=120_000)
    expect(chat).to_contain_text("kun dokumenter fra Aarhus Kommune")
    expect(chat).to_contain_text("Aarhus Kommunes dokumenter nævner ikke sociale medier.")
    # what other organisations say comes after, labelled as theirs, and opens its own source
    expect(chat).to_contain_text("Det siger andre organisationer")
    chat.locator(".message-wrap .message-row").filter(has_text="Aalborg Kommune:").filter(has_text=SOCIAL).last.click()
    expect(page.locator("#kilde mark#citat")).to_have_text(SOCIAL, timeout=30_000)


@pytest.mark.browser
def test_markdown_and_html_in_documents_and_metadata_render_as_text_and_nothing_leaves(site, page):
    """Text, title, type and date of a document carry image syntax and HTML: the chat, the source
    panel and the overview table show the characters, and the page requests nothing off 127.0.0.1."""
    from urllib.parse import urlsplit

    from playwright.sync_api import expect
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    url, _, _ = site
    ask_in_browser(page, url, "hvad gælder om billeder i mails?")
    chat = page.locator("#samtale")
    expect(chat.get_by_text("Om billeder i mails gælder:").first).to_be_visible(timeout=120_000)
    title = "![titel](http://evil.example/t.png) <b>Fed</b> linje to"      # the newline shown as a space
    expect(chat).to_contain_text(IMG_TEXT)
    expect(chat).to_contain_text(f"Testby Kommune · {title} · Billeder i mails")

    chat.get_by_text("Om billeder i mails gælder:").first.click()
    kilde = page.locator("#kilde")
    expect(kilde.locator("mark#citat")).to_contain_text(IMG_TEXT, timeout=30_000)
    expect(kilde.locator("h3")).to_have_text(title)
    expect(kilde).to_contain_text(IMG_META["doc_type"])
    expect(kilde).to_contain_text(IMG_META["date"])

    page.get_by_text("Dokumenter i indekset").click()
    row = page.locator("table tr").filter(has_text="Testby Kommune")
    expect(row).to_have_count(1, timeout=30_000)         # the overview renders when the accordion opens
    cells = row.locator("td")
    expect(cells).to_have_count(4)                                      # the | in the date did not split a cell
    expect(cells.nth(1)).to_have_text(title)
    expect(cells.nth(2)).to_have_text(IMG_META["doc_type"])
    expect(cells.nth(3)).to_have_text(IMG_META["date"])
    page.wait_for_timeout(1000)

    assert page.locator("img[src*='evil'], a[href*='evil'], b:text('Fed')").count() == 0
    hosts = {urlsplit(u).hostname for u in requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")}
    assert hosts == {"127.0.0.1"}, sorted(u for u in requests if urlsplit(u).hostname != "127.0.0.1")
