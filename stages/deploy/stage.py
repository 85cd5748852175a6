"""The ``deploy`` stage: publish a build (or promote a release) to a named target.

Every kind first writes a complete local release (``<target root>/releases/<job>/``), checks it,
and only then publishes: ``directory`` swaps ``current``, ``git`` pushes a commit, ``command``
runs a program, and all three swap ``current`` last so rollback, previews and ``/sites/<target>/``
work the same way. The lease is checked right before anything becomes visible; on any failure the
new release is discarded and ``current`` keeps pointing at the previous good one.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stages.base import StageContext, StageError, StageResult
from stages.deploy import command_target, compose, diff, git_target, promote, release
from stages.deploy.options import Options, Target
from stages.site.options import SiteOptions

CHANGED_URLS_LIMIT = 500


def target_root(sites_dir: Path, name: str, target: Target) -> Path:
    """Folder of a target's releases: ``<sites_dir>/<name>`` or its configured ``path``
    (relative paths are taken from the data dir, the parent of ``sites_dir``)."""
    if target.path:
        path = Path(target.path).expanduser()
        return path if path.is_absolute() else sites_dir.parent / path
    return sites_dir / name


def live_url(opts: Options, name: str, site: SiteOptions) -> str | None:
    """Public URL of a target: its ``base_url``; the build target falls back to the site's;
    another target served by the daemon gets the site URL with its own ``/sites/<name>/``."""
    target = opts.target_named(name)
    if target is None:
        return None
    if target.base_url:
        return target.base_url if target.base_url.endswith("/") else target.base_url + "/"
    base = site.base_url
    if not base:
        return None
    base = base if base.endswith("/") else base + "/"
    if name == opts.target:
        return base
    marker = f"/sites/{opts.target}/"
    return base.replace(marker, f"/sites/{name}/") if marker in base else None


@dataclass
class _Source:
    site_dir: Path
    pages: list[str]
    pdfs: dict[str, Path]
    skip_top: frozenset[str]
    copy: release.CopyFn
    promoted_from: str | None


def _source(ctx: StageContext[Options], opts: Options) -> _Source:
    if ctx.release_from is not None:
        src = ctx.release_from
        if not src.is_dir():
            raise StageError(f"the release to promote ({src.name}) is gone: retention (keep_releases) removed it",
                             code="deploy_check_failed")
        pages = [p.relative_to(src).as_posix() for p in src.rglob("*.html")]
        return _Source(src, pages, {}, frozenset(), release.link_or_copy, src.name)
    html = ctx.previous.get("render_html")
    if html is None:
        raise StageError("deploy needs the render_html stage's output", code="deploy_check_failed")
    outputs = html.outputs
    site_dir = ctx.workspace / outputs["site_dir"] if outputs.get("site_dir") else ctx.out
    pages = [str(p["file"]) for lang in outputs.get("languages", {}).values() for p in lang.get("pages", [])]
    pdfs: dict[str, Path] = {}
    skip: set[str] = set()
    pdf_stage = ctx.previous.get("render_pdf")
    site_name = ctx.site.name
    for key, rel in (pdf_stage.artifacts if pdf_stage else {}).items():
        if not key.startswith("pdf."):
            continue
        lang = key[len("pdf."):]
        path = ctx.workspace / rel
        if not path.is_file():
            raise StageError(f"render_pdf listed {rel} but it does not exist", code="deploy_check_failed")
        pdfs[opts.pdf_path.format(lang=lang, name=site_name)] = path
        with contextlib.suppress(ValueError):
            skip.add(path.resolve().relative_to(site_dir.resolve()).parts[0])
    return _Source(site_dir, pages, pdfs, frozenset(skip), release.copy_file, None)


async def _swap_with_lease(ctx: StageContext[Options], root: Path, name: str) -> None:
    """Swap ``current`` under the target lock, after a last lease check inside it.

    Holding the lock across the check means no other deploy of this target can swap between
    "the lease is still ours" and our rename.
    """
    fd = await asyncio.to_thread(_lock, root)
    try:
        if not await ctx.check_lease():
            raise StageError("this worker lost the job's lease; not publishing", code="lease_lost")
        await asyncio.to_thread(release.swap_current, root, name)
    finally:
        os.close(fd)


def _lock(root: Path) -> int:
    fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


async def run(ctx: StageContext[Options]) -> StageResult:
    opts = ctx.options
    name = ctx.target or opts.target
    target = opts.target_named(name)
    if target is None:
        raise StageError(f"no deploy target named {name!r} (configured: {sorted(opts.targets)})",
                         code="deploy_unknown_target")
    root = target_root(ctx.sites_dir, name, target)
    src = _source(ctx, opts)
    try:
        await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
    except OSError as exc:
        raise StageError(f"cannot create the folder of target {name!r}: {exc.strerror or exc}",
                         code="deploy_not_writable") from exc
    composing = compose.plan(ctx.source, ctx.site, ctx.language, name, ctx.release_from)
    async with compose.locked(root) if composing else contextlib.nullcontext():
        ctx.progress(5, f"writing release for {name}")
        written: dict[str, int] = {}
        current = release.current_path(root)
        skip = src.skip_top | (compose.skip_top(composing, src.site_dir, current) if composing else frozenset())
        incoming, files = await asyncio.to_thread(
            release.write_release, root, src.site_dir, extra_files=src.pdfs, skip_top=skip, copy=src.copy,
            reuse_from=current, stats=written,
        )
        try:
            if composing and current is not None:
                carry = compose.carried(composing, src.site_dir, current)
                files += await asyncio.to_thread(compose.carry_over, incoming, current, carry)
            if opts.check_pages:
                missing = release.check_release(incoming, src.pages, list(src.pdfs))
                if missing:
                    raise StageError(
                        f"release incomplete, {len(missing)} file(s) missing: {', '.join(missing[:10])}",
                        code="deploy_check_failed")
            ctx.progress(40, "comparing with the live release")
            changes = await asyncio.to_thread(diff.diff_releases, incoming, release.current_path(root), max_tables=0)
            created = ctx.now().isoformat(timespec="seconds")
            final = await asyncio.to_thread(
                release.finalize, root, incoming, job_id=ctx.job_id, created_at=created, files=files,
                pages=len(diff.site_pages(incoming)), promoted_from=src.promoted_from,
                language=composing.language if composing and composing.translation else None,
            )
        except BaseException:
            await asyncio.to_thread(release.discard, root, incoming)
            raise
        counts = {"files": files, "pages": len(diff.site_pages(final)), "reused": written.get("linked", 0)}
        outputs: dict[str, Any] = {"target": name, "release": str(final)}
        try:
            ctx.raise_if_cancelled()  # last moment a cancel can still leave everything as it was
            ctx.progress(60, f"publishing to {name} ({target.kind})")
            if target.kind != "directory" and not await ctx.check_lease():
                raise StageError("this worker lost the job's lease; not publishing", code="lease_lost")
            if target.kind == "git":
                assert target.git is not None
                message = target.git.message.format(job_id=ctx.job_id, target=name)
                pushed = await git_target.publish(final, target.git, ctx.workspace / f"git-{name}",
                                                  message=message)
                outputs["git"] = {"commit": pushed.commit, "attempts": pushed.attempts, "branch": target.git.branch}
            elif target.kind == "command":
                assert target.command is not None
                done = await command_target.publish(target.command, final, target=name, job_id=ctx.job_id)
                outputs["command"] = {"argv": done.argv, "exit_code": done.returncode, "output": done.output[-4000:]}
            await _swap_with_lease(ctx, root, final.name)
        except BaseException:
            await asyncio.to_thread(release.discard, root, final)
            raise
    await asyncio.to_thread(release.drop_earlier_attempts, root, ctx.job_id, final.name)
    removed = await asyncio.to_thread(release.prune, root, target.keep_releases)
    url = live_url(opts, name, ctx.site)
    changed = [*changes.added, *changes.changed_urls]
    outputs.update({
        "live_url": url,
        "changed_urls": [(url or "/") + u for u in changed[:CHANGED_URLS_LIMIT]],
        "changes": changes.summary(),
        "pruned": removed,
        "pdf": {rel.split("/", 1)[0]: (url or "/") + rel for rel in src.pdfs},
    })
    if composing and composing.translation:
        # One language of a build: the build's own deploy decides about promotion, not each language.
        outputs["promotion"] = {"decision": "none", "to": None}
        outputs["language"] = composing.language
        outputs["language_url"] = f"{url}{composing.language}/" if url else None
    else:
        outputs["promotion"] = await _promotion(ctx, opts, name, final)
    ctx.progress(100, f"live on {name}")
    result = StageResult(counts=counts, outputs=outputs)
    if outputs["promotion"].get("preview"):
        result.artifacts["review.diff"] = outputs["promotion"]["preview"]
    return result


async def _promotion(ctx: StageContext[Options], opts: Options, name: str, final: Path) -> dict[str, Any]:
    """Decide review / auto-promotion, with the diff against the promotion target's live site."""
    to = opts.promote_to
    if name != opts.target or not to or to not in opts.targets or to == name:
        return {"decision": "none", "to": None}
    other_root = target_root(ctx.sites_dir, to, opts.targets[to])
    preview = await asyncio.to_thread(
        diff.diff_releases, final, release.current_path(other_root), max_tables=opts.diff_pages)
    health = promote.health_of(ctx.previous, len(preview.removed))
    decision, to = promote.decide(opts, name, health)
    api = ctx.previous.get("openapi")
    decision = promote.with_openapi(decision, to, api)
    info: dict[str, Any] = {
        "decision": decision, "to": to, "release": str(final), "changes": preview.summary(),
        "health": {"lint_errors": health.lint_errors, "broken_links": health.broken_links,
                   "removed_pages": health.removed_pages},
    }
    if api is not None and api.outputs.get("changed"):
        info["openapi"] = {"summary": api.outputs.get("summary"), "breaking": api.outputs.get("breaking", []),
                           "non_breaking": len(api.outputs.get("non_breaking", []))}
    if decision == "review":
        reports = ctx.workspace / "reports"
        await asyncio.to_thread(_write_preview, reports, preview)
        info["preview"] = "reports/review-diff.html"
        info["preview_json"] = "reports/review-diff.json"
    return info


def _write_preview(reports: Path, preview: diff.DiffPreview) -> None:
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "review-diff.html").write_text(diff.preview_html(preview), encoding="utf-8")
    (reports / "review-diff.json").write_text(json.dumps(preview.to_dict()), encoding="utf-8")
