"""Machine translation of whole pages through a LibreTranslate-compatible HTTP API.

Only prose leaves the machine: :mod:`stages.translate.machine_segments` cuts every page into kept
parts (code, URLs, link targets, front matter keys, include directives, HTML tags, admonition
markers, table pipes) and units of prose. A unit is sent as one string with its inline kept
parts replaced by numbered placeholders (``{0}``, ``{1}``...) so the translator sees whole
sentences; when a translation comes back without exactly those placeholders (or with a link's
brackets out of order) the unit is sent again as its bare text runs, one string each, and the
kept parts are put back between them. Strings are de-duplicated and sent in batches.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from stages.base import StageError
from stages.translate.machine_segments import Piece, Unit, has_words, quote_value, segment

PLACEHOLDER = re.compile(r"\{\s*(\d+)\s*\}")
BATCH_STRINGS = 50
"""Strings per request (LibreTranslate accepts a list in ``q``)."""
BATCH_CHARS = 8000
"""Characters per request: servers cap a request's text (LibreTranslate's ``--char-limit``)."""
CONCURRENCY = 4
"""Requests in flight at once: enough to hide latency without flooding a self-hosted server."""
ERROR_DETAIL = 300
"""How much of a provider's error text goes into our error message."""
RETRIES = 2
"""Extra attempts after a busy answer (429, 502-504) or a refused connection; a timeout is not
retried, it has already cost the whole timeout."""
RETRY_STATUS = frozenset({429, 502, 503, 504})


def encode(unit: Unit) -> str | None:
    """The unit as one string with numbered placeholders; None when its own text already looks
    like a placeholder (it would be impossible to tell ours from the author's)."""
    if any(PLACEHOLDER.search(t) for t in unit.texts()):
        return None
    out: list[str] = []
    n = 0
    for keep, text in unit.parts:
        if keep:
            out.append(f"{{{n}}}")
            n += 1
        else:
            out.append(text)
    return "".join(out)


def decode(unit: Unit, translated: str) -> str | None:
    """Put the kept parts back into a translation; None unless every placeholder came back
    exactly once, none was invented, and each link's opener still precedes its closer."""
    kept = unit.kept()
    found = [int(m.group(1)) for m in PLACEHOLDER.finditer(translated)]
    if sorted(found) != list(range(len(kept))):
        return None
    position = {n: i for i, n in enumerate(found)}
    if any(position[a] > position[b] for a, b in unit.pairs):
        return None
    return PLACEHOLDER.sub(lambda m: kept[int(m.group(1))], _flat(unit, translated))


def _flat(unit: Unit, text: str) -> str:
    """A unit written on one line gets a one-line translation: a translator's line break would
    end a paragraph, a table cell or a heading early."""
    if any("\n" in t for t in unit.texts()):
        return text
    return re.sub(r"\s*\n\s*", " ", text)


def runs(unit: Unit) -> list[str]:
    """The fallback's strings: the unit's text runs that have words, without their edge space."""
    return [t.strip() for t in unit.texts() if has_words(t)]


def rebuild_runs(unit: Unit, done: dict[str, str]) -> str:
    out: list[str] = []
    for keep, text in unit.parts:
        if keep or not has_words(text):
            out.append(text)
            continue
        core = text.strip()
        lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
        out.append(lead + _flat(unit, done.get(core, core)) + trail)
    return "".join(out)


def safe_url(url: str) -> str:
    """The provider's address as an error message may show it: no user info, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class Provider:
    """One LibreTranslate endpoint for one language pair."""

    def __init__(self, provider: str, *, source: str, target: str, api_key: str | None, timeout: float) -> None:
        if not provider or provider == "none" or urlsplit(provider).scheme not in ("http", "https"):
            raise StageError("machine translation needs [translate] provider, the http(s) URL of a "
                             "LibreTranslate-compatible server", code="config_invalid")
        self.url = provider.rstrip("/") + "/translate"
        self.shown = safe_url(self.url)
        self.source, self.target = source, target
        self.api_key = api_key or None
        self.timeout = timeout
        self.requests = 0
        self.sent_chars = 0

    def _fail(self, what: str) -> StageError:
        message = f"machine translation {self.source}->{self.target} failed: {self.shown} {what}"
        if self.api_key:
            message = message.replace(self.api_key, "***")
        return StageError(message, code="translation_provider_failed")

    async def translate(self, session: aiohttp.ClientSession, strings: Sequence[str]) -> dict[str, str]:
        """Each distinct string's translation."""
        unique = list(dict.fromkeys(s for s in strings if s))
        batches: list[list[str]] = []
        size = 0
        for s in unique:
            if not batches or len(batches[-1]) >= BATCH_STRINGS or (size + len(s) > BATCH_CHARS and batches[-1]):
                batches.append([])
                size = 0
            batches[-1].append(s)
            size += len(s)
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(batch: list[str]) -> dict[str, str]:
            async with limit:
                return dict(zip(batch, await self._post(session, batch), strict=True))

        tasks = [asyncio.ensure_future(one(b)) for b in batches]
        try:
            done: dict[str, str] = {}
            for got in await asyncio.gather(*tasks):
                done.update(got)
            return done
        finally:
            for t in tasks:
                t.cancel()

    async def _post(self, session: aiohttp.ClientSession, batch: list[str]) -> list[str]:
        body: dict[str, Any] = {"q": batch, "source": self.source, "target": self.target, "format": "text"}
        if self.api_key:
            body["api_key"] = self.api_key
        self.sent_chars += sum(len(s) for s in batch)
        for attempt in range(RETRIES + 1):
            self.requests += 1
            wait = 0.5 * 2**attempt
            try:
                async with session.post(self.url, json=body, timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                    raw = await resp.read()
                    status = resp.status
                    after = resp.headers.get("Retry-After", "")
            except TimeoutError:
                raise self._fail(f"did not answer within {self.timeout:g} s") from None
            except aiohttp.ClientError as exc:
                if attempt < RETRIES and isinstance(exc, aiohttp.ClientConnectionError):
                    await asyncio.sleep(wait)
                    continue
                raise self._fail(f"cannot be reached ({type(exc).__name__})") from None
            if status not in RETRY_STATUS or attempt == RETRIES:
                break
            await asyncio.sleep(min(float(after), 10.0) if after.isdigit() else wait)
        try:
            data = json.loads(raw.decode("utf-8", "replace"))
        except ValueError:
            data = None
        if status != 200:
            detail = data.get("error") if isinstance(data, dict) else None
            text = str(detail) if detail else raw.decode("utf-8", "replace")
            raise self._fail(f"answered HTTP {status}: {' '.join(text.split())[:ERROR_DETAIL] or 'no detail'}")
        got = data.get("translatedText") if isinstance(data, dict) else None
        if isinstance(got, str) and len(batch) == 1:
            got = [got]
        if not isinstance(got, list) or len(got) != len(batch) or not all(isinstance(g, str) for g in got):
            raise self._fail(f"answered without one translatedText string per text sent ({len(batch)})")
        return got


async def translate_pages(texts: dict[str, str], *, source: str, target: str, provider: str,
                          api_key: str | None, timeout: float) -> dict[str, str]:
    """Markdown pages (name -> text) translated from ``source`` to ``target``; every kept part of
    every page comes back byte-identical. Raises :class:`StageError` (``translation_provider_failed``)
    when the provider fails; the message never holds the API key."""
    if not texts:
        return {}
    client = Provider(provider, source=source, target=target, api_key=api_key, timeout=timeout)
    docs: dict[str, list[Piece]] = await asyncio.to_thread(lambda: {n: segment(t) for n, t in texts.items()})
    units = [p for doc in docs.values() for p in doc if isinstance(p, Unit)]
    encoded = {id(u): encode(u) for u in units}
    done: dict[int, str] = {}
    async with aiohttp.ClientSession() as session:
        first = await client.translate(session, [q for q in encoded.values() if q is not None])
        retry: list[Unit] = []
        for u in units:
            q = encoded[id(u)]
            got = decode(u, first[q]) if q is not None and q in first else None
            if got is None:
                retry.append(u)
            else:
                done[id(u)] = got
        if retry:
            second = await client.translate(session, [r for u in retry for r in runs(u)])
            for u in retry:
                done[id(u)] = rebuild_runs(u, second)
    return {name: _render(doc, done) for name, doc in docs.items()}


def _render(doc: list[Piece], done: dict[int, str]) -> str:
    out: list[str] = []
    for p in doc:
        if isinstance(p, str):
            out.append(p)
            continue
        text = done.get(id(p), "".join(t for _, t in p.parts))
        out.append(quote_value(text, "" if p.quote == '""' else p.quote) if p.quote is not None else text)
    return "".join(out)
