"""Screening in the real browser (Playwright + Debian Chromium), on SQLite and PostgreSQL: two
reviewers screen 20 records with the keyboard, the third resolves a conflict and sees kappa, and
the living PRISMA page's 'screened' and 'awaiting' numbers follow each step; a reviewer cannot
open patient pages and a clinician cannot open reviews. Screenshots (and the PRISMA diagram as
downloaded) go to test-artifacts/web/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from test_web_browser import Visit, _backend, browser, server  # noqa: F401  (fixtures)
from test_web_screening import REVIEW, seeded  # noqa: F401  (fixture)

from myoivig.store import Store


def _reviewer(browser: Any, server: str, name: str) -> Visit:  # noqa: F811
    """Sign a reviewer in: a reviewer's sign-in lands on the review list, not on patients."""
    visit = Visit(browser, server)
    visit.sign_in(name, start="/")
    assert visit.page.url.endswith("/reviews")
    assert "Systematic reviews" in visit.page.content()
    return visit


def _record_id(visit: Visit) -> str:
    return visit.page.locator("[data-testid=record-id]").inner_text()


def _screen_with_keys(visit: Visit, key_for: dict[str, str] | None, count: int) -> list[str]:
    """Press keys on `count` records: include (i) when the title names IVIg, else exclude (e)
    with reason 1. With `key_for`, open those records instead and press the given verdict."""
    done: list[str] = []
    targets = list(key_for) if key_for else [None] * count
    for target in targets:
        if target is not None:
            visit.page.goto(f"{visit.base}/reviews/{REVIEW}/screen?record={target}")
        record = _record_id(visit)
        title = visit.page.locator("[data-testid=record-title]").inner_text()
        verdict = key_for[record] if key_for else ("i" if "IVIg" in title else "e")
        with visit.page.expect_navigation():
            visit.page.keyboard.press(verdict)
            if verdict == "e":
                expect(visit.page.locator("[data-testid=reasons]")).to_be_visible()
                visit.page.keyboard.press("1")
        done.append(record)
    return done


def _prisma(visit: Visit) -> dict[str, int]:
    """Open the review's PRISMA page and read its numbers (it must say the review is in
    progress and show the diagram)."""
    visit.page.goto(f"{visit.base}/prisma/{REVIEW}")
    expect(visit.page.locator("[data-testid=prisma-in-progress]")).to_contain_text(
        "The review is in progress: the counts are as of the newest event"
    )
    image = visit.page.locator("[data-testid=prisma-diagram] img")
    image.wait_for()
    assert visit.page.evaluate("(img) => img.naturalWidth", image.element_handle()) > 500
    names = ("identified", "duplicates", "screened", "excluded", "awaiting-screening",
             "awaiting-conflicts", "assessed", "awaiting-full-text", "studies")  # fmt: skip
    return {n: int(visit.page.locator(f"[data-testid=prisma-{n}]").inner_text()) for n in names}


def _kappa(first: dict[str, str], second: dict[str, str]) -> float:
    """Cohen's kappa of two reviewers' keys on the same records, counted here by hand."""
    n = len(first)
    observed = sum(first[r] == second[r] for r in first) / n
    expected = sum(
        sum(v == c for v in first.values()) * sum(v == c for v in second.values())
        for c in ("i", "e")
    ) / (n * n)
    return (observed - expected) / (1 - expected)


def test_two_reviewers_screen_by_keyboard_a_third_resolves_and_sees_kappa(
    browser: Any,  # noqa: F811
    server: str,  # noqa: F811
    clinic_store: Store,
    seeded: Store,  # noqa: F811
    artifacts: Path,
) -> None:
    tag = _backend(clinic_store)
    rob = _reviewer(browser, server, "rob")
    # living PRISMA before anyone screens: all 31 records identified and awaiting screening
    before = _prisma(rob)
    assert before == {
        "identified": 31, "duplicates": 0, "screened": 0, "excluded": 0,
        "awaiting-screening": 31, "awaiting-conflicts": 0, "assessed": 0,
        "awaiting-full-text": 0, "studies": 0,
    }  # fmt: skip
    rob.shot(artifacts, f"{tag}-24-prisma-before-screening")
    rob.page.goto(f"{server}/reviews/{REVIEW}/screen")
    rob.page.locator("#recall-curve .main-svg").first.wait_for(state="visible")
    screened = _screen_with_keys(rob, None, 10)
    assert len(set(screened)) == 10
    rob.page.keyboard.press("n")  # next: skip one record without deciding
    rob.page.wait_for_url("**skip=**")
    rob.page.locator("#recall-curve .main-svg").first.wait_for(state="visible")
    rob.shot(artifacts, f"{tag}-20-screening-page")
    with rob.page.expect_navigation():
        rob.page.keyboard.press("u")  # undo: back to the last decision
    assert rob.page.locator("[data-testid=previous]").count() == 1
    rob.close()

    rosa = _reviewer(browser, server, "rosa")
    rosa.page.goto(f"{server}/reviews/{REVIEW}/screen?record={screened[0]}")
    assert rosa.page.locator("[data-testid=previous]").count() == 0  # blind to rob's decision
    # the same 10 records; she disagrees with rob on the first (exclude vs include or back)
    first_title = rosa.page.locator("[data-testid=record-title]").inner_text()
    plan = {rid: "" for rid in screened}
    for rid in screened:
        rosa.page.goto(f"{server}/reviews/{REVIEW}/screen?record={rid}")
        title = rosa.page.locator("[data-testid=record-title]").inner_text()
        plan[rid] = "i" if "IVIg" in title else "e"
    robs = dict(plan)  # rob pressed the same keys by the same rule (see _screen_with_keys)
    plan[screened[0]] = "e" if "IVIg" in first_title else "i"
    _screen_with_keys(rosa, plan, 10)
    rosa.page.goto(f"{server}/reviews/{REVIEW}/screen")
    expect(rosa.page.locator("[data-testid=final-count]")).to_contain_text("9 of 31")
    rosa.page.locator("#recall-curve .main-svg").first.wait_for(state="visible")
    rosa.shot(artifacts, f"{tag}-23-screening-progress-after-both")
    # PRISMA follows: 9 agreed records screened, the disagreement awaits the third reviewer
    agreed = screened[1:]
    excluded = sum(plan[r] == "e" for r in agreed)
    after_both = _prisma(rosa)
    assert after_both == before | {
        "screened": 9, "excluded": excluded, "awaiting-screening": 22,
        "awaiting-conflicts": 1, "awaiting-full-text": 9 - excluded,
    }  # fmt: skip
    rosa.close()

    ray = _reviewer(browser, server, "ray")
    ray.page.goto(f"{server}/reviews/{REVIEW}/conflicts")
    conflict = ray.page.locator("[data-testid=conflict]")
    expect(conflict).to_have_count(1)
    assert screened[0] in conflict.inner_text()
    ray.shot(artifacts, f"{tag}-21-conflicts-page")
    ray.page.click("[data-testid=resolve-include]")
    expect(ray.page.locator("[data-testid=no-conflicts]")).to_be_visible()
    kappa = ray.page.locator("[data-testid=kappa]").first.inner_text()
    assert kappa != "undefined" and -1.0 <= float(kappa) < 1.0
    assert kappa == f"{_kappa(robs, plan):.2f}"  # rob and rosa disagreed on one record of 10
    ray.shot(artifacts, f"{tag}-22-conflicts-resolved-kappa")
    # resolved as include: the tenth record is screened and sought for its full text
    resolved = _prisma(ray)
    assert resolved == after_both | {
        "screened": 10, "awaiting-screening": 21, "awaiting-conflicts": 0,
        "awaiting-full-text": 10 - excluded,
    }  # fmt: skip
    ray.shot(artifacts, f"{tag}-25-prisma-in-progress")
    diagram = ray.page.request.get(f"{server}/prisma/{REVIEW}/download/prisma.png")
    assert diagram.ok and diagram.body().startswith(b"\x89PNG")
    (artifacts / f"{tag}-25-prisma-in-progress-diagram.png").write_bytes(diagram.body())
    counts = ray.page.request.get(f"{server}/prisma/{REVIEW}/download/prisma.csv").text()
    assert counts.splitlines()[1].startswith('"status","review in progress')
    assert '"records_screened",10' in counts
    assert '"in_progress.records_awaiting_screening",21' in counts
    ray.close()

    carl = Visit(browser, server)
    carl.sign_in("carl")
    response = carl.page.goto(f"{server}/reviews/{REVIEW}/screen")
    assert response is not None and response.status == 403
    assert "Not allowed" in carl.page.content()
    carl.console_errors.clear()  # the expected 403 above
    carl.close()
