"""The ``render_pdf`` stage: one printable book per language, from the rendered HTML.

Optional by default: a WeasyPrint crash or a timeout makes the stage ``degraded`` (the site still
deploys, without a fresh PDF) unless ``[stages.pdf] required = true``. All languages share one
child pool sized to the CPU budget, so two languages render in parallel.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from stages.base import Cancelled, Finding, StageContext, StageError, StageResult
from stages.render_pdf import builder, child
from stages.render_pdf.options import Options
from stages.render_pdf.pool import ChildPool, child_pool


def _stylesheets(ctx: StageContext[Options], site_dir: Path, opts: Options) -> list[str]:
    """Default print CSS, then the theme's, then the site's own: later ones override."""
    sheets = [str(builder.DEFAULT_CSS)]
    sheets += [str(site_dir / rel) for rel in opts.theme_css if (site_dir / rel).is_file()]
    for rel in opts.stylesheets:
        path = (ctx.source / rel).resolve()
        if not path.is_relative_to(ctx.source.resolve()) or not path.is_file():
            raise StageError(
                f"[stages.pdf] stylesheets: {rel!r} is not a file inside the source folder",
                code="pdf_config_invalid",
            )
        sheets.append(str(path))
    return sheets


def _inputs(ctx: StageContext[Options], opts: Options) -> list[builder.BookInput]:
    previous = ctx.previous.get("render_html")
    if previous is None:
        raise StageError("render_pdf needs the render_html stage's output", code="pdf_no_input")
    outputs = previous.outputs
    # render_html names its output relative to the workspace; `pressroom build` writes it beside
    # --out instead (a folder swapped in on success), which is this stage's out as well
    named = outputs.get("site_dir")
    site_dir = ctx.out if not named or named == ctx.out.name else ctx.workspace / named
    languages: dict[str, Any] = outputs.get("languages", {})
    if ctx.language is not None:
        languages = {k: v for k, v in languages.items() if k == ctx.language}
    sheets = _stylesheets(ctx, site_dir, opts)
    site = ctx.site
    trigger = ctx.trigger
    commit = trigger.get("commit") or trigger.get("ref")
    date = str(trigger.get("date") or ctx.now().date().isoformat())
    return [
        builder.BookInput(
            lang=lang,
            pages=list(info.get("pages", [])),
            site_dir=site_dir,
            cache_dir=ctx.cache_dir / "pdf" / site.name,
            out_pdf=ctx.out / "pdf" / f"{lang}.pdf",
            title=site.title,
            base_url=site.base_url,
            version=site.version,
            commit=str(commit) if commit else None,
            date=date,
            stylesheets=sheets,
        )
        for lang, info in languages.items()
        if info.get("pages")
    ]


async def run(ctx: StageContext[Options]) -> StageResult:
    opts = ctx.options
    ctx.raise_if_cancelled()
    inputs = _inputs(ctx, opts)
    result = StageResult(counts={"books": 0, "pages": 0, "chapters": 0, "chapters_rendered": 0})
    if not inputs:
        result.status = "skipped"
        result.message = "no rendered pages to print"
        return result
    workers = opts.workers or os.cpu_count() or 1
    books: dict[str, builder.BookResult | BaseException] = {}
    error_code: str | None = None
    plans: list[tuple[builder.BookInput, builder.Plan]] = []
    done = 0

    def tick() -> None:
        nonlocal done
        ctx.raise_if_cancelled()
        done += 1
        total = sum(len(p.units) for _, p in plans) or 1
        ctx.progress(min(95.0, 95.0 * done / total), f"{done}/{total} chapters")

    async def book(
        inp: builder.BookInput, plan: builder.Plan, pool: ChildPool, ready: asyncio.Future[None]
    ) -> None:
        try:
            books[inp.lang] = await builder.BookBuilder(inp, plan, pool, opts, tick, ready).build()
        except (Cancelled, asyncio.CancelledError):
            raise
        except Exception as exc:  # one language failing must not stop the others
            books[inp.lang] = exc

    try:
        async with asyncio.timeout(opts.timeout), child_pool(workers) as pool:
            # the child imports WeasyPrint while this process plans: after a one-page edit the
            # spawn and imports are as long as the render itself
            first = inputs[0]
            warm = asyncio.ensure_future(pool.run(
                child.warm_up, first.stylesheets, builder.page_css(opts), str(first.site_dir)))
            try:
                for inp in inputs:
                    plan, missing = await asyncio.to_thread(builder.plan_book, inp, opts)
                    plans.append((inp, plan))
                    result.findings += [
                        Finding(file=f, rule="pdf-missing-page", severity="warning", language=inp.lang,
                                message="listed by render_html but not found; left out of the PDF")
                        for f in missing
                    ]
            except BaseException:
                warm.cancel()
                raise
            # renders go out only once the warm child is ready (sent earlier, they would start
            # a second, cold child that pays for the imports again); a cached book waits for nothing
            try:
                async with asyncio.TaskGroup() as group:
                    for inp, plan in plans:
                        group.create_task(book(inp, plan, pool, warm))
            except* Cancelled as cancelled:
                raise cancelled.exceptions[0] from None
            if not warm.done():  # nothing was rendered: do not wait for imports no one needs
                warm.add_done_callback(_quiet)
                pool.kill()
    except Cancelled:
        raise
    except TimeoutError:
        error_code = "pdf_timeout"
        for inp in inputs:
            books.setdefault(inp.lang, TimeoutError(f"PDF not done after {opts.timeout:g} s"))
    except Exception as exc:  # the pool itself broke: every unfinished book failed
        error_code = "pdf_failed"
        for inp in inputs:
            books.setdefault(inp.lang, exc)
    return _result(ctx, opts, result, books, error_code)


def _quiet(future: asyncio.Future[None]) -> None:
    """Retrieve the outcome of a warm-up no one waited for (its child was killed)."""
    if not future.cancelled():
        future.exception()


def _result(
    ctx: StageContext[Options],
    opts: Options,
    result: StageResult,
    books: dict[str, builder.BookResult | BaseException],
    error_code: str | None,
) -> StageResult:
    languages: dict[str, Any] = {}
    failures: list[str] = []
    for lang, book in books.items():
        if isinstance(book, BaseException):
            code = error_code or "pdf_failed"
            error_code = code
            failures.append(lang)
            result.findings.append(
                Finding(file=f"pdf/{lang}.pdf", rule=code, language=lang,
                        severity="error" if opts.required else "warning",
                        message=f"PDF for {lang} not built: {type(book).__name__}: {book}")
            )
            continue
        rel = os.path.relpath(book.pdf, ctx.workspace)
        result.artifacts[f"pdf.{lang}"] = rel
        languages[lang] = {
            "pdf": rel, "pages": book.pages, "chapters": book.chapters,
            "rendered": book.rendered, "cached": book.cached_book,
        }
        result.counts["books"] += 1
        result.counts["pages"] += book.pages
        result.counts["chapters"] += book.chapters
        result.counts["chapters_rendered"] += book.rendered
        result.counts["reused"] = result.counts.get("reused", 0) + book.chapters - book.rendered
        if book.unresolved_links:
            result.findings.append(
                Finding(file=f"pdf/{lang}.pdf", rule="pdf-unresolved-link", language=lang,
                        severity="info",
                        message=f"{book.unresolved_links} link(s) point at anchors not in the book")
            )
    result.outputs = {"languages": languages}
    if failures:
        result.status = "failed" if opts.required else "degraded"
        result.error_code = error_code
        result.message = f"PDF failed for {', '.join(sorted(failures))} ({error_code})"
    ctx.progress(100.0, None)
    return result
