"""Staff keep the documents up to date in the browser; internal documents stay internal.

Debian's Chromium through Playwright against `assistant serve` with the real model: an admin
logs in from the chat, uploads a PDF, marks it internal, rebuilds with the progress bar, and
the chat quotes it; a second, anonymous browser asks the same question and gets no internal
quote, cannot open the document by id and does not see it in the overview; the admin deletes
it and after the rebuild the answer is gone.
"""
import re
import shutil
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT
from fakes import make_pdf
from serving import build_index, running_server
from test_browser import CHROMIUM, FLAGS

from assistant.state.users import UserStore

ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "korrekt-hest-batteri"
QUESTION = "hvem behandler krænkelsessager?"
SENTENCE = "Krænkelsessager behandles af trivselsudvalget inden for ti arbejdsdage."
TITLE = "Procedure ved krænkende adfærd"
PDF_LINES = [TITLE, "", "Behandling af sager", "", SENTENCE,
             "Sagen journaliseres fortroligt i personalesystemet.", "",
             "Bisidder", "", "Den krænkede kan altid tage en bisidder med til samtalen."]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("corpus")
    for f in CORPUS.iterdir():
        shutil.copy(f, corpus / f.name)
    index, data = tmp_path_factory.mktemp("index"), tmp_path_factory.mktemp("data")
    build_index(corpus, index)
    UserStore(data).add("hanne", PASSWORD, "admin")
    pdf = tmp_path_factory.mktemp("upload") / "Procedure krænkelser.pdf"
    make_pdf(pdf, [PDF_LINES])
    with running_server(index, data=data, args=["--corpus", str(corpus)]) as url:
        yield url, corpus, pdf


@pytest.fixture()
def browser():
    from playwright.sync_api import sync_playwright
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run `make chromium` (make test does)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def ask(page, url, question):
    from playwright.sync_api import expect
    page.goto(url)
    expect(page.locator("#bruger")).not_to_be_empty(timeout=60_000)      # the page has loaded its reader
    page.locator("#spoergsmaal textarea").fill(question)
    page.locator("#spoerg").click()
    chat = page.locator("#samtale")
    expect(chat.get_by_text("Kilde:").first).to_be_visible(timeout=120_000)  # an answer or related passages
    return chat


def rebuild(page):
    """Click "Genopbyg indekset": the progress bar shows, and the page reports the switch."""
    from playwright.sync_api import expect
    page.locator("#genopbyg").click()
    bar = page.locator("#fremdrift")
    expect(bar).to_be_visible(timeout=30_000)
    expect(page.locator("#bygning")).to_have_attribute("data-status", "done", timeout=300_000)
    expect(page.locator("#byg-status")).to_contain_text("Færdig: indekset er genopbygget")
    expect(bar).to_have_attribute("value", "100")


@pytest.mark.browser
def test_admin_uploads_internal_pdf_and_only_logged_in_staff_see_it(site, browser):
    from playwright.sync_api import expect
    url, corpus, pdf = site
    admin = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()

    # log in from the chat's "Log ind" link, then on to the administration page
    admin.goto(url)
    admin.locator("#log-ind").click()
    admin.locator("input[name=name]").fill("hanne")
    admin.locator("input[name=password]").fill(PASSWORD)
    admin.locator("#login button[type=submit]").click()
    expect(admin.locator("#bruger-navn")).to_have_text("hanne (administrator)", timeout=60_000)
    admin.locator("#administration").click()
    expect(admin.locator("h1")).to_have_text("Administration")

    # upload the PDF; it is stored under a generated name
    admin.locator("#fil").set_input_files(str(pdf))
    admin.locator("#upload-knap").click()
    flash = admin.locator(".flash.ok")
    expect(flash).to_contain_text("»Procedure krænkelser.pdf« er gemt som dok-")
    doc_id = re.search(r"dok-[0-9a-f]{10}", flash.inner_text()).group(0)
    assert (corpus / f"{doc_id}.pdf").read_bytes() == pdf.read_bytes()
    row = admin.locator(f"tr[data-id='{doc_id}']")
    expect(row.locator(".status")).to_have_text("Ny – kommer med ved næste genopbygning")

    # set it internal (and name its organisation, which the PDF does not)
    row.locator("summary").click()
    row.locator(f"#{doc_id}-organisation").fill("Aalborg Kommune")
    row.locator(f"#{doc_id}-visibility").select_option("intern")
    row.locator("form.rediger button[type=submit]").click()
    expect(admin.locator(".flash.ok")).to_contain_text(f"Oplysningerne om {doc_id} er gemt (Organisation, Synlighed)")
    expect(admin.locator(f"tr[data-id='{doc_id}'] .synlighed")).to_have_text("intern")

    rebuild(admin)
    row = admin.locator(f"tr[data-id='{doc_id}']")
    expect(row.locator(".status")).to_have_text("I indekset")
    expect(row).to_contain_text(TITLE)
    ARTIFACTS.mkdir(exist_ok=True)
    admin.screenshot(path=str(ARTIFACTS / "admin.png"), full_page=True)

    # the admin's chat quotes the internal PDF, and the overview lists it
    chat = ask(admin, url, QUESTION)
    expect(chat.get_by_text(SENTENCE).first).to_be_visible()
    chat.get_by_text(SENTENCE).first.click()
    expect(admin.locator("#kilde mark#citat")).to_have_text(SENTENCE, timeout=30_000)
    admin.get_by_text("Dokumenter i indekset").click()
    expect(admin.locator("#oversigt")).to_contain_text(f"{TITLE} (intern)")

    # a second, anonymous browser: no internal quote, no source by id, not in the overview
    anon = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    chat = ask(anon, url, QUESTION)
    expect(anon.locator("#log-ind")).to_be_visible()
    assert SENTENCE not in chat.inner_text() and "trivselsudvalget" not in chat.inner_text()
    anon.get_by_text("Dokumenter i indekset").click()
    expect(anon.locator("#oversigt")).to_contain_text("Byrådets adfærdskodeks")
    assert TITLE not in anon.locator("#oversigt").inner_text()
    response = anon.goto(url + f"kilde/{doc_id}")
    assert response.status == 404
    expect(anon.locator("h1")).to_have_text("Dokumentet findes ikke")
    assert SENTENCE not in anon.content()
    assert admin.goto(url + f"kilde/{doc_id}").status == 200

    # the admin deletes it; after the rebuild the answer no longer quotes it
    admin.goto(url + "admin")
    row = admin.locator(f"tr[data-id='{doc_id}']")
    row.locator("summary").click()
    admin.once("dialog", lambda d: d.accept())
    row.locator("form.slet button").click()
    expect(admin.locator(".flash.ok")).to_contain_text(f"{doc_id} er slettet")
    assert not list(corpus.glob(f"{doc_id}*"))
    expect(admin.locator(f"tr[data-id='{doc_id}'] .status")).to_have_text(
        "Slettet – forsvinder ved næste genopbygning")
    rebuild(admin)
    expect(admin.locator(f"tr[data-id='{doc_id}']")).to_have_count(0)
    chat = ask(admin, url, QUESTION)
    assert SENTENCE not in chat.inner_text()
    assert admin.goto(url + f"kilde/{doc_id}").status == 404
