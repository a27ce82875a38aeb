"""A local fake NCBI E-utilities server for the review tests.

The fake speaks the real wire formats (esearch JSON with WebEnv/querykey, efetch PubmedArticleSet
XML), enforces the 10,000-id paging limit (scaled down via `max_ids`), and can be told to answer
429/503 to exercise retries. It listens on 127.0.0.1 only; nothing reaches the internet.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape


@dataclass
class FakeArticle:
    pmid: str
    published: date
    title: str


@dataclass
class FakeEutils:
    articles: list[FakeArticle]
    max_ids: int = 10_000
    failures: list[int] = field(default_factory=list)  # statuses to return first, in order
    forget_history_after: int | None = None  # efetch calls after which WebEnvs are forgotten
    # (mindate, maxdate) -> records esearch counts on top of the matches (e.g. records without
    # a publication date that only the whole-range query finds, and efetch never returns)
    count_extra: dict[tuple[str, str], int] = field(default_factory=dict)
    efetch_drops: set[str] = field(default_factory=set)  # PMIDs efetch silently leaves out
    efetch_calls: int = 0
    log: list[tuple[float, str, dict[str, str]]] = field(default_factory=list)
    histories: dict[str, list[FakeArticle]] = field(default_factory=dict)
    url: str = ""

    def matching(self, term: str, mindate: str, maxdate: str) -> list[FakeArticle]:
        lo = date(*map(int, mindate.split("/")))
        hi = date(*map(int, maxdate.split("/")))
        words = [w for w in term.lower().split() if w not in {"and", "or"}]
        return [
            a
            for a in self.articles
            if lo <= a.published <= hi and all(w in a.title.lower() for w in words)
        ]


def _article_xml(a: FakeArticle) -> str:
    return (
        '<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM">'
        f'<PMID Version="1">{a.pmid}</PMID><Article PubModel="Print"><Journal>'
        '<ISSN IssnType="Print">0000-0000</ISSN><JournalIssue CitedMedium="Print">'
        f"<Volume>1</Volume><PubDate><Year>{a.published.year}</Year></PubDate></JournalIssue>"
        "<Title>Test journal</Title></Journal>"
        f"<ArticleTitle>{escape(a.title)}</ArticleTitle>"
        "<AuthorList><Author><LastName>Doe</LastName><ForeName>Jane</ForeName></Author>"
        "</AuthorList></Article></MedlineCitation><PubmedData><ArticleIdList>"
        f'<ArticleId IdType="pubmed">{a.pmid}</ArticleId></ArticleIdList></PubmedData>'
        "</PubmedArticle>"
    )


def make_handler(state: FakeEutils) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # silence stderr
            return

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parsed = urlparse(self.path)
            params = {k: v[0] for k, v in parse_qs(parsed.query).items()}
            endpoint = parsed.path.rsplit("/", 1)[-1]
            state.log.append((time.monotonic(), endpoint, params))
            if state.failures:
                status = state.failures.pop(0)
                self._send(status, b"Too Many Requests" if status == 429 else b"busy", "text/plain")
                return
            if endpoint == "esearch.fcgi":
                found = state.matching(params["term"], params["mindate"], params["maxdate"])
                key = f"MCID_{len(state.histories) + 1}"
                state.histories[key] = found
                body = {
                    "header": {"type": "esearch", "version": "0.3"},
                    "esearchresult": {
                        "count": str(
                            len(found)
                            + state.count_extra.get((params["mindate"], params["maxdate"]), 0)
                        ),
                        "retmax": "0",
                        "retstart": "0",
                        "querykey": "1",
                        "webenv": key,
                        "idlist": [],
                        "translationset": [],
                        "querytranslation": params["term"],
                    },
                }
                self._send(200, json.dumps(body).encode(), "application/json; charset=UTF-8")
                return
            if endpoint == "efetch.fcgi":
                state.efetch_calls += 1
                if state.forget_history_after == state.efetch_calls - 1:
                    state.histories.clear()
                found = state.histories.get(params.get("WebEnv", ""))
                start = int(params.get("retstart", "0"))
                if found is None or start >= state.max_ids:
                    err = "<eFetchResult><ERROR>Cannot retrieve history data</ERROR></eFetchResult>"
                    self._send(400, err.encode(), "text/xml")
                    return
                batch = found[start : start + int(params.get("retmax", "20"))]
                body = (
                    '<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC '
                    '"-//NLM//DTD PubMedArticle, 1st January 2024//EN" '
                    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_240101.dtd">\n'
                    "<PubmedArticleSet>"
                    + "".join(_article_xml(a) for a in batch if a.pmid not in state.efetch_drops)
                    + "</PubmedArticleSet>"
                )
                self._send(200, body.encode(), "text/xml; charset=UTF-8")
                return
            self._send(404, b"unknown endpoint", "text/plain")

    return Handler
