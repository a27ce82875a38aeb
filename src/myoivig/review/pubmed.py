"""PubMed search through NCBI E-utilities (esearch with the history server, batched efetch).

NCBI rules encoded here (NLM support article KA-05510 and the E-utilities documentation):
- at most 3 requests/s without an API key, 10 with one; above that NCBI answers HTTP 429;
- identify the client with `tool` and `email`;
- PubMed esearch pages through only the first 10,000 ids of a query, so larger result sets are
  split by publication date (`datetype=pdat`, `mindate`/`maxdate`) until every part fits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from myoivig.review.importers.xml_formats import parse_pubmed_xml
from myoivig.review.records import BibRecord, ImportIssue

if TYPE_CHECKING:  # httpx is imported only when PubMed is searched
    import httpx

DEFAULT_BASE_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
RATE_NO_KEY = 3.0  # requests per second, NCBI default (KA-05510)
RATE_WITH_KEY = 10.0  # requests per second with an API key (KA-05510)
ESEARCH_MAX_IDS = 10_000  # PubMed esearch returns at most the first 10,000 ids of a query
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class EutilsError(RuntimeError):
    """E-utilities failed after retries, or answered with an error payload."""


class HistoryExpiredError(EutilsError):
    """The history server no longer knows the WebEnv (it expires); the search must be re-run."""


@dataclass(frozen=True)
class EutilsConfig:
    """Client settings; `base_url` can point at a local fake server in tests."""

    tool: str = "myoivig"
    email: str | None = None
    api_key: str | None = None
    base_url: str = DEFAULT_BASE_URL
    batch_size: int = 200  # efetch records per request (200-500 is the usual safe batch)
    max_retries: int = 5
    backoff_seconds: float = 0.5  # first back-off; doubles on every retry
    max_ids_per_query: int = ESEARCH_MAX_IDS
    timeout_seconds: float = 30.0

    @property
    def requests_per_second(self) -> float:
        return RATE_WITH_KEY if self.api_key else RATE_NO_KEY


class RateLimiter:
    """Spaces calls at least 1/rate seconds apart (a single-client token interval)."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None

    def wait(self) -> None:
        now = self._clock()
        if self._next is not None and now < self._next:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


@dataclass
class SearchPart:
    """One esearch over a date window (after splitting)."""

    term: str
    mindate: str
    maxdate: str
    count: int
    webenv: str
    query_key: str


@dataclass
class SearchOutcome:
    """What a search found and fetched; `count` is the total PubMed reported before splitting."""

    query: str
    count: int
    parts: list[SearchPart] = field(default_factory=list)
    records: list[BibRecord] = field(default_factory=list)
    issues: list[ImportIssue] = field(default_factory=list)
    requests: int = 0
    fetched_per_part: list[int] = field(default_factory=list)  # records + malformed, per window
    repeated: int = 0  # PMIDs returned by more than one window (kept once)

    @property
    def windows_total(self) -> int:
        return sum(p.count for p in self.parts)

    @property
    def gaps(self) -> list[str]:
        """Every way the fetched set falls short of (or exceeds) what PubMed counted.

        Checked: the date windows add up to the total; each window returned as many records as
        its count; stored plus malformed records equal the total. An empty list means complete.
        """
        problems: list[str] = []
        if self.windows_total != self.count:
            problems.append(
                f"date windows hold {self.windows_total} records but PubMed counted {self.count} "
                "for the whole range (records outside every window are not fetched)"
            )
        for part, fetched in zip(self.parts, self.fetched_per_part, strict=False):
            if fetched != part.count:
                problems.append(
                    f"window {part.mindate}-{part.maxdate}: efetch returned {fetched} of "
                    f"{part.count} records"
                )
        received = len(self.records) + len(self.issues)
        if received != self.count:
            problems.append(
                f"stored {len(self.records)} + malformed {len(self.issues)} = {received} "
                f"records, but PubMed counted {self.count}"
            )
        return problems


class PubMedClient:
    """Polite E-utilities client: rate-limited, retrying, history-server based."""

    def __init__(
        self,
        config: EutilsConfig,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import httpx

        self.config = config
        self._http = http or httpx.Client(timeout=config.timeout_seconds)
        self._limiter = RateLimiter(config.requests_per_second, clock, sleep)
        self._sleep = sleep
        self.requests = 0

    def close(self) -> None:
        self._http.close()

    def _params(self, extra: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {"tool": self.config.tool}
        if self.config.email:
            params["email"] = self.config.email
        if self.config.api_key:
            params["api_key"] = self.config.api_key
        params.update(extra)
        return params

    def _get(self, endpoint: str, params: dict[str, Any]) -> httpx.Response:
        import httpx

        url = self.config.base_url.rstrip("/") + "/" + endpoint
        delay = self.config.backoff_seconds
        last_error = ""
        for attempt in range(self.config.max_retries + 1):
            self._limiter.wait()
            self.requests += 1
            try:
                response = self._http.get(url, params=self._params(params))
            except httpx.TransportError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    return response
                if response.status_code == 400 and "history" in response.text.lower():
                    raise HistoryExpiredError(f"{endpoint}: {response.text[:200]}")
                if response.status_code not in RETRY_STATUSES:
                    raise EutilsError(
                        f"{endpoint}: HTTP {response.status_code}: {response.text[:200]}"
                    )
                last_error = f"HTTP {response.status_code}"
                retry_after = response.headers.get("Retry-After")
                if retry_after and retry_after.isdigit():
                    delay = max(delay, float(retry_after))
            if attempt < self.config.max_retries:
                self._sleep(delay)
                delay *= 2
        raise EutilsError(
            f"{endpoint}: gave up after {self.config.max_retries + 1} attempts ({last_error})"
        )

    def esearch(self, term: str, mindate: str, maxdate: str) -> SearchPart:
        """Run esearch with the history server for one date window."""
        response = self._get(
            "esearch.fcgi",
            {
                "db": "pubmed",
                "term": term,
                "usehistory": "y",
                "retmode": "json",
                "retmax": 0,
                "datetype": "pdat",
                "mindate": mindate,
                "maxdate": maxdate,
            },
        )
        try:
            payload = response.json()["esearchresult"]
        except (ValueError, KeyError) as exc:
            raise EutilsError(f"esearch: unexpected response {response.text[:200]!r}") from exc
        if "ERROR" in payload:
            raise EutilsError(f"esearch: {payload['ERROR']}")
        return SearchPart(
            term=term,
            mindate=mindate,
            maxdate=maxdate,
            count=int(payload["count"]),
            webenv=str(payload.get("webenv", "")),
            query_key=str(payload.get("querykey", "")),
        )

    def efetch_batches(self, part: SearchPart) -> Iterator[bytes]:
        """PubMed XML for a part, `batch_size` records per request via WebEnv/query_key.

        If the history server has forgotten the WebEnv, the part's esearch is re-run once per
        batch and fetching resumes at the same offset; a changed count is an error, because the
        offsets would no longer point at the same records.
        """
        for start in range(0, part.count, self.config.batch_size):
            params = {
                "db": "pubmed",
                "retstart": start,
                "retmax": self.config.batch_size,
                "retmode": "xml",
            }
            try:
                response = self._get(
                    "efetch.fcgi", {**params, "WebEnv": part.webenv, "query_key": part.query_key}
                )
            except HistoryExpiredError:
                fresh = self.esearch(part.term, part.mindate, part.maxdate)
                if fresh.count != part.count:
                    raise EutilsError(
                        f"result set changed while fetching ({part.count} -> {fresh.count} "
                        f"records for {part.mindate}-{part.maxdate}); run the search again"
                    ) from None
                part.webenv, part.query_key = fresh.webenv, fresh.query_key
                response = self._get(
                    "efetch.fcgi", {**params, "WebEnv": part.webenv, "query_key": part.query_key}
                )
            yield response.content

    def plan(self, term: str, year_from: int, year_to: int) -> tuple[int, list[SearchPart]]:
        """Total count and date windows each holding at most `max_ids_per_query` ids."""
        first = self.esearch(term, f"{year_from}/01/01", f"{year_to}/12/31")
        if first.count <= self.config.max_ids_per_query:
            return first.count, [first]
        parts: list[SearchPart] = []
        stack = [(date(year_from, 1, 1), date(year_to, 12, 31))]
        while stack:
            lo, hi = stack.pop(0)
            part = self.esearch(term, _fmt(lo), _fmt(hi))
            if part.count <= self.config.max_ids_per_query:
                if part.count:
                    parts.append(part)
                continue
            if lo == hi:
                raise EutilsError(
                    f"more than {self.config.max_ids_per_query} records published on {lo}; "
                    "narrow the query"
                )
            mid = lo + timedelta(days=(hi - lo).days // 2)
            stack[0:0] = [(lo, mid), (mid + timedelta(days=1), hi)]
        return first.count, parts

    def search(self, term: str, year_from: int, year_to: int) -> SearchOutcome:
        """Search and fetch everything, splitting by date when needed; PMIDs kept once."""
        count, parts = self.plan(term, year_from, year_to)
        outcome = SearchOutcome(query=term, count=count, parts=parts)
        seen: set[str] = set()
        position = 0
        for part in parts:
            fetched = 0
            for xml in self.efetch_batches(part):
                records, issues, _cut = parse_pubmed_xml(xml, "medline", "pubmed:")
                # A cut-off batch reports its lost records among `issues` (counted below).
                fetched += len(records) + len(issues)
                for issue in issues:
                    outcome.issues.append(
                        issue.model_copy(update={"reason": f"efetch batch: {issue.reason}"})
                    )
                for rec in records:
                    key = rec.pmid or f"pos{rec.position}"
                    if key in seen:
                        outcome.repeated += 1
                        continue
                    seen.add(key)
                    position += 1
                    outcome.records.append(
                        rec.model_copy(
                            update={
                                "position": position,
                                "record_id": f"pubmed:{rec.pmid}"
                                if rec.pmid
                                else f"pubmed:{position}",
                            }
                        )
                    )
            outcome.fetched_per_part.append(fetched)
        outcome.requests = self.requests
        return outcome


def _fmt(day: date) -> str:
    return f"{day.year:04d}/{day.month:02d}/{day.day:02d}"
