"""PRISMA boxes hold their text: long source names and many exclusion reasons stay inside
(measured with the renderer), and a count '(n = 2)' is never split across lines."""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg

from myoivig.review.prisma.diagram import figure
from myoivig.review.prisma.flow import PrismaCounts, ReportChain

SOURCES = {
    "MEDLINE": 100,
    "Embase": 80,
    "CNKI (China National Knowledge Infrastructure)": 50,
    "Wanfang Data": 30,
    "CENTRAL": 20,
    "Web of Science Core Collection": 10,
    "Scopus": 5,
    "VIP": 5,
}
REASONS = {
    "not a clinical study": 3,
    "case report": 4,
    "wrong population (inclusion body myositis or juvenile dermatomyositis only)": 2,
    "no IVIg outcome reported": 1,
    "duplicate report of an included cohort": 2,
    "outcome measured only before IVIg was started": 1,
}


def test_every_label_stays_inside_its_box() -> None:
    excluded = sum(REASONS.values())
    counts = PrismaCounts(
        database_results=SOURCES, duplicates=100, records_screened=200, records_excluded=160,
        databases=ReportChain(sought=40, not_retrieved=2, assessed=38, excluded=REASONS),
        new_reports=38 - excluded, new_studies=38 - excluded,
    )  # fmt: skip
    fig = figure(counts, "A review")
    ax = fig.axes[0]
    renderer = FigureCanvasAgg(fig).get_renderer()
    boxes = [p.get_window_extent(renderer) for p in ax.patches]
    checked = 0
    for text in ax.texts:
        anchor = ax.transData.transform(text.get_position())
        holders = [b for b in boxes if b.contains(*anchor)]
        if not holders or not text.get_text():
            continue
        box = min(holders, key=lambda b: b.width * b.height)
        extent = text.get_window_extent(renderer)
        assert box.x0 <= extent.x0 and extent.x1 <= box.x1, text.get_text()[:40]
        assert box.y0 <= extent.y0 and extent.y1 <= box.y1, text.get_text()[:40]
        for line in text.get_text().split("\n"):
            assert not line.rstrip().endswith("(n ="), line
        checked += 1
    assert checked >= 10
