"""The checks every flow relies on can fail: the journal sees script errors, answers
of 5xx and pages wider than the screen (given here by the browser, not the app)."""

from __future__ import annotations

from playwright.sync_api import Route

SITE = "http://kota-contoh.test"  # never reached: the browser answers for it
BROKEN_PAGE = """<!doctype html><html lang="id"><body>
<div style="width: 2000px">terlalu lebar</div>
<script>console.error("rusak"); belumAdaFungsiIni();</script>
</body></html>"""


def test_the_journal_sees_what_fails_a_flow(person, journal) -> None:
    page = person(phone=True)
    page.route("**/rusak", broken)
    page.route("**/mati", lambda route: route.fulfill(status=503, body="tidak tersedia"))

    with page.expect_event("pageerror"):
        page.goto(f"{SITE}/rusak")
    journal.shot(page, "a broken page")
    page.goto(f"{SITE}/mati")

    assert [e.split(" (")[0] for e in journal.console_errors] == [
        "rusak",
        "uncaught: belumAdaFungsiIni is not defined",
        "Failed to load resource: the server responded with a status of 503",
    ]
    assert journal.server_errors == [f"503 GET {SITE}/mati"]
    assert len(journal.too_wide) == 1 and "wider than the screen" in journal.too_wide[0]
    for seen in (journal.console_errors, journal.server_errors, journal.too_wide):
        seen.clear()  # seen as they should be: they must not fail this test


def broken(route: Route) -> None:
    route.fulfill(status=200, content_type="text/html", body=BROKEN_PAGE)
