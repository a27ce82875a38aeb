"""PubMed client against the local fake E-utilities server (no internet)."""

from __future__ import annotations

import itertools

import pytest
from review_fake_eutils import FakeEutils

from myoivig.review.pubmed import EutilsConfig, EutilsError, PubMedClient, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _client(fake: FakeEutils, clock: FakeClock | None = None, **kw: object) -> PubMedClient:
    config = EutilsConfig(base_url=fake.url, email="t@example.org", **kw)  # type: ignore[arg-type]
    if clock is None:
        return PubMedClient(config)
    return PubMedClient(config, clock=clock, sleep=clock.sleep)


def test_rate_limiter_spacing() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3.0, clock, clock.sleep)
    for _ in range(4):
        limiter.wait()
    assert clock.sleeps == pytest.approx([1 / 3] * 3)
    assert EutilsConfig().requests_per_second == 3.0
    assert EutilsConfig(api_key="k").requests_per_second == 10.0


def test_search_uses_history_batches_and_identifies_itself(fake_eutils: FakeEutils) -> None:
    clock = FakeClock()
    client = _client(fake_eutils, clock, batch_size=25)
    outcome = client.search("immunoglobulin myositis", 1985, 2011)
    assert outcome.count == 120 and len(outcome.records) == 120
    assert len({r.pmid for r in outcome.records}) == 120
    endpoints = [e for _, e, _ in fake_eutils.log]
    assert endpoints == ["esearch.fcgi"] + ["efetch.fcgi"] * 5
    for _, endpoint, params in fake_eutils.log:
        assert params["tool"] == "myoivig" and params["email"] == "t@example.org"
        if endpoint == "esearch.fcgi":
            assert params["usehistory"] == "y" and params["datetype"] == "pdat"
            assert (params["mindate"], params["maxdate"]) == ("1985/01/01", "2011/12/31")
        else:
            assert params["WebEnv"] == "MCID_1" and params["query_key"] == "1"
    assert [p["retstart"] for _, e, p in fake_eutils.log if e == "efetch.fcgi"] == [
        "0",
        "25",
        "50",
        "75",
        "100",
    ]
    # 6 requests at 3/s: the limiter waited between every pair of calls.
    assert len(clock.sleeps) == 5 and all(s == pytest.approx(1 / 3, abs=0.01) for s in clock.sleeps)
    assert outcome.records[0].record_id.startswith("pubmed:")


def test_real_time_rate_stays_under_three_per_second(fake_eutils: FakeEutils) -> None:
    client = _client(fake_eutils, batch_size=40)
    client.search("immunoglobulin", 1985, 2011)
    times = [t for t, _, _ in fake_eutils.log]
    assert len(times) == 4
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1 / 3 - 0.02


def test_splits_by_date_when_over_the_id_limit(fake_eutils: FakeEutils) -> None:
    fake_eutils.max_ids = 30
    clock = FakeClock()
    client = _client(fake_eutils, clock, batch_size=30, max_ids_per_query=30)
    outcome = client.search("myositis", 1985, 2011)
    assert outcome.count == 120
    assert len(outcome.parts) >= 4 and all(p.count <= 30 for p in outcome.parts)
    assert sum(p.count for p in outcome.parts) == 120
    assert sorted(r.pmid or "" for r in outcome.records) == sorted(
        a.pmid for a in fake_eutils.articles
    )
    # windows are disjoint and cover the range in order
    bounds = [(p.mindate, p.maxdate) for p in outcome.parts]
    assert bounds == sorted(bounds)
    for (_, hi), (lo, _) in itertools.pairwise(bounds):
        assert hi < lo


def test_retries_with_backoff_on_429_and_503(fake_eutils: FakeEutils) -> None:
    fake_eutils.failures = [429, 503, 502]
    clock = FakeClock()
    client = _client(fake_eutils, clock, batch_size=200, backoff_seconds=0.5)
    outcome = client.search("myositis", 2000, 2001)
    assert outcome.count == len(outcome.records) > 0
    backoffs = [s for s in clock.sleeps if s >= 0.5]
    assert backoffs[:3] == [0.5, 1.0, 2.0]


def test_gives_up_after_max_retries(fake_eutils: FakeEutils) -> None:
    fake_eutils.failures = [503] * 10
    clock = FakeClock()
    client = _client(fake_eutils, clock, max_retries=2)
    with pytest.raises(EutilsError, match="gave up after 3 attempts"):
        client.search("myositis", 1985, 2011)


def test_client_error_is_not_retried(fake_eutils: FakeEutils) -> None:
    fake_eutils.failures = [400]
    clock = FakeClock()
    client = _client(fake_eutils, clock)
    with pytest.raises(EutilsError, match="HTTP 400"):
        client.search("myositis", 1985, 2011)
    assert len(fake_eutils.log) == 1


def test_expired_history_is_refreshed_and_fetching_resumes(fake_eutils: FakeEutils) -> None:
    fake_eutils.forget_history_after = 2
    clock = FakeClock()
    client = _client(fake_eutils, clock, batch_size=25)
    outcome = client.search("myositis", 1985, 2011)
    assert len(outcome.records) == 120 and len({r.pmid for r in outcome.records}) == 120
    endpoints = [e for _, e, _ in fake_eutils.log]
    assert endpoints.count("esearch.fcgi") == 2  # the original and one refresh
    retstarts = [p["retstart"] for _, e, p in fake_eutils.log if e == "efetch.fcgi"]
    assert retstarts == ["0", "25", "50", "50", "75", "100"]


def test_changed_result_set_after_expiry_is_an_error(fake_eutils: FakeEutils) -> None:
    fake_eutils.forget_history_after = 1
    clock = FakeClock()
    client = _client(fake_eutils, clock, batch_size=50)
    batches = client.efetch_batches(client.esearch("myositis", "1985/01/01", "2011/12/31"))
    next(batches)
    fake_eutils.articles.pop()  # a record disappears from PubMed meanwhile
    with pytest.raises(EutilsError, match="result set changed"):
        next(batches)


def test_complete_search_reports_no_gaps(fake_eutils: FakeEutils) -> None:
    fake_eutils.max_ids = 30
    client = _client(fake_eutils, FakeClock(), batch_size=30, max_ids_per_query=30)
    outcome = client.search("myositis", 1985, 2011)
    assert outcome.gaps == [] and outcome.windows_total == 120 and outcome.repeated == 0


def test_windows_that_do_not_add_up_are_reported(fake_eutils: FakeEutils) -> None:
    fake_eutils.max_ids = 30
    fake_eutils.count_extra = {("1985/01/01", "2011/12/31"): 3}
    client = _client(fake_eutils, FakeClock(), batch_size=30, max_ids_per_query=30)
    outcome = client.search("myositis", 1985, 2011)
    assert outcome.count == 123 and outcome.windows_total == 120
    assert any("date windows hold 120 records but PubMed counted 123" in g for g in outcome.gaps)
    assert any("stored 120 + malformed 0 = 120" in g for g in outcome.gaps)


def test_records_efetch_leaves_out_are_reported(fake_eutils: FakeEutils) -> None:
    fake_eutils.efetch_drops = {"1000005", "1000006"}
    client = _client(fake_eutils, FakeClock(), batch_size=50)
    outcome = client.search("myositis", 1985, 2011)
    assert len(outcome.records) == 118
    assert any("efetch returned 118 of 120" in g for g in outcome.gaps)
