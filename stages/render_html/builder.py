"""One language of one site: decide what changed, render it in the pool, assemble, publish.

Phases (MkDocs ``build()`` order): hash every page and its includes against the cache; parse and
render the changed ones in the process pool; build the nav from all titles; assemble only the
pages whose inputs (fragment, nav, theme, config) changed; publish pages, assets, the search
index and the sitemap; remove what the previous build made and this one did not.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from stages.base import Finding, StageContext
from stages.markdown import analyze
from stages.render_html import bodies, site_files, theme, translated
from stages.render_html.cache import Store, atomic_write, remove_stale, sha256
from stages.render_html.options import Options
from stages.site import urls
from stages.site.changes import DepHashes
from stages.site.layout import LanguageTree, SiteLayout
from stages.site.nav import build_nav, resolve_titles

RENDER_SALT = "pressroom-render-7"
"""Bump when rendering changes so caches from older code are not reused."""

MERMAID_MARK = '<pre class="mermaid">'
"""How a rendered fragment holds a mermaid diagram (see stages/markdown/highlight.py)."""


@dataclass
class SiteRun:
    ctx: StageContext[Options]
    layout: SiteLayout
    env: jinja2.Environment
    salt: str
    """Hash of everything site-wide a page depends on: config, theme, code version."""
    base_url: str
    generator: str
    cache_root: Path
    macro_vars: dict[str, Any] | None = None
    """The variables Jinja macros see (mkdocs-macros), or None when the site does not enable them."""
    lastmod: dict[str, float] = field(default_factory=dict)
    """Last commit time per source-relative file (empty without git history)."""
    mermaid: bool = False
    """Whether some page has a mermaid diagram: only then is the vendored mermaid build published."""
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    translation: translated.Applied | None = None
    """The translate stage's page states, applied to the language it translated."""
    source_pages: set[str] | None = None
    """The source language's pages when this run does not build it (see :meth:`LanguageBuild._has_page`)."""
    source_dirs: tuple[Path, Path] | None = None
    """The source language's (include base, docs dir): a fallback page is parsed as its source
    page is, so its body is the source language's (see :mod:`stages.render_html.bodies`)."""
    body_store: bodies.Bodies | None = None

    @property
    def title(self) -> str:
        site = self.ctx.site
        explicit = "title" in site.model_fields_set
        return str(site.title if explicit or not self.layout.site_name else self.layout.site_name)

    def title_in(self, lang: str) -> str:
        """A language's own site title (Hugo ``[languages.<code>] title``) unless ``[site] title`` is set."""
        own = self.layout.titles.get(lang)
        return own if own and "title" not in self.ctx.site.model_fields_set else self.title

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def rel(self, path: Path) -> str:
        """A page's name in findings and cache keys (an overlay page: as if in its docs folder)."""
        return self.layout.rel(translated.display_path(self.translation, path))


def _finding(d: dict[str, Any]) -> Finding:
    return Finding(file=d["file"], line=d.get("line"), column=d.get("column"), rule=d["rule"],
                   severity=d["severity"], message=d["message"], language=d.get("language"))


class LanguageBuild:
    def __init__(self, run: SiteRun, lang: str, progress_span: tuple[float, float]) -> None:
        self.run = run
        self.ctx = run.ctx
        self.lang = lang
        self.tree: LanguageTree = run.layout.trees[lang]
        self.store = Store(run.cache_root / lang)
        self.span = progress_span
        self.deps = DepHashes(run.layout.include_root)
        self.pretty = run.layout.pretty_urls(run.ctx.site)
        self._asset_state: dict[str, Any] = {}
        self._search_key = ""
        self._texts: dict[str, str] = {}
        """Hash of the bytes of each page parsed this run (the body store's key starts from it)."""
        site = run.ctx.site
        self.languages = list(run.layout.link_languages(site))

    def _progress(self, frac: float, msg: str) -> None:
        a, b = self.span
        self.ctx.progress(round(a + (b - a) * frac, 1), f"[{self.lang}] {msg}")

    def _job(self, src: str) -> analyze.PageJob:
        ps = self.tree.pages[src]
        layout = self.run.layout
        include_base, docs_dir = self.tree.include_base, self.tree.docs_dir
        if ps.fallback and self.run.source_dirs is not None:
            include_base, docs_dir = self.run.source_dirs
        return analyze.PageJob(lang=self.lang, src=src, path=str(ps.path), rel=self.run.rel(ps.path),
                               include_base=str(include_base), source_root=str(layout.include_root),
                               docs_dir=str(docs_dir), macros=self.run.macro_vars,
                               max_bytes=int(self.ctx.site.max_page_bytes), raw_html=self.ctx.site.raw_html,
                               **layout.parse_options(self.ctx.site, self.lang))

    async def _render(self, srcs: list[str]) -> dict[str, dict[str, Any]]:
        def report(done: int, total: int) -> None:
            self._progress(0.7 * done / total, f"rendered {done}/{total} pages")

        jobs = {s: self._job(s) for s in srcs}
        store = self.run.body_store
        found, keys = await asyncio.to_thread(store.lookup, jobs, self._texts) if store else ({}, {})
        todo = [j for s, j in jobs.items() if s not in found]
        if store is not None:  # each page's code blocks as last rendered: no lexer for unchanged ones
            todo = await asyncio.to_thread(lambda: [dataclasses.replace(j, fences=self.store.load_fences(
                self.lang, j.src, store.salt)) for j in todo])
        results = await analyze.analyze_all(self.ctx, todo, True, report)
        fences = {r["src"]: r.pop("fences", None) for r in results}
        self.run.count("reused_bodies", len(found))
        if store is not None:  # the source language's pages and fallbacks: what another language may show
            shared = [r for r in results if r["src"] in keys and len(self.languages) > 1 and (
                self.lang == self.run.layout.default_language or self.tree.pages[r["src"]].fallback)]

            def put() -> None:
                for src, blocks in fences.items():
                    if blocks is not None:
                        self.store.save_fences(self.lang, src, store.salt, blocks)
                for r in shared:
                    store.put(keys[r["src"]], jobs[r["src"]], r, self.deps.of(r["deps"]))
                if shared:
                    store.collect()

            await asyncio.to_thread(put)
        return {**found, **{r["src"]: r for r in results}}

    def _scan(self, old_pages: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """Which pages must be parsed again: their bytes or an include changed since last time."""
        entries: dict[str, dict[str, Any]] = {}
        stale: list[str] = []
        for src, ps in self.tree.pages.items():
            try:
                data = ps.path.read_bytes()
            except OSError:
                data = b""
            h = sha256(data + b"\0" + self.run.rel(ps.path).encode() + translated.cache_flags(ps))
            old = old_pages.get(src)
            if old and old["hash"] == h and self.deps.unchanged(old["deps"]):
                entries[src] = dict(old)
            else:
                entries[src] = {"hash": h}
                stale.append(src)
                self._texts[src] = sha256(data)
        return entries, stale

    async def build(self, state_in: dict[str, Any]) -> dict[str, Any]:
        run, ctx, store = self.run, self.ctx, self.store
        out = ctx.out
        incremental = ctx.options.incremental
        state = state_in if incremental and state_in.get("salt") == run.salt else {}
        old_pages: dict[str, Any] = state.get("pages", {})
        entries, stale = await asyncio.to_thread(self._scan, old_pages)
        self._progress(0.02, f"{len(stale)} of {len(self.tree.pages)} pages changed")
        fresh = await self._render(stale)

        def save_all() -> None:
            for s, r in fresh.items():
                store.save_fragment(self.lang, s, r)

        await asyncio.to_thread(save_all)
        for src, res in fresh.items():
            meta = res["meta"]
            weight = meta.get("weight", 0)
            entries[src].update(
                deps=self.deps.of(res["deps"]), title=res["title"],
                weight=weight if isinstance(weight, int | float) else 0,
                findings=res["findings"], draft=meta.get("draft") is True,
                aliases=[a for a in meta.get("aliases", []) if isinstance(a, str)] if isinstance(meta.get("aliases"), list) else [],
                mermaid=MERMAID_MARK in res.get("html", ""),
            )
        run.count("rendered", len(fresh))
        run.mermaid = run.mermaid or any(e.get("mermaid") for e in entries.values())
        for e in entries.values():
            run.findings.extend(_finding(f) for f in e.get("findings", []))
        return await self._assemble(entries, fresh, state, out)

    async def _assemble(self, entries: dict[str, dict[str, Any]], fresh: dict[str, dict[str, Any]],
                        state: dict[str, Any], out: Path) -> dict[str, Any]:
        run, ctx, lang, store = self.run, self.ctx, self.lang, self.store
        mk = run.layout.mkdocs
        listed = {s: e for s, e in entries.items() if not (mk and run.layout.nav_origin == "folders" and mk.hidden(s))}
        nav = build_nav(run.layout.nav_config, {s: (e["title"], float(e["weight"])) for s, e in listed.items()})
        if lang == run.layout.default_language:
            nav_file = run.layout.rel(run.layout.mkdocs_file) if run.layout.nav_origin == "mkdocs" and run.layout.mkdocs_file else "config.toml"
            for target, title in nav.missing:
                run.findings.append(Finding(file=nav_file, rule="nav-missing", severity="warning", language=lang,
                                            message=f"nav entry {title!r} points to {target}, which does not exist"))
        tree, sections = resolve_titles(nav, lambda s: entries[s]["title"])
        in_nav = set(nav.order)
        order = nav.order + sorted(s for s in entries if s not in in_nav)
        url_of = {s: urls.page_url(s, self.pretty) for s in order}
        nav_markup = theme.nav_html(tree, lang, url_of)
        nav_hash = sha256(json.dumps([nav_markup, nav.order]).encode())
        old_pages = state.get("pages", {})
        to_assemble: list[str] = []
        for src in order:
            e = entries[src]
            e["file"] = f"{lang}/{urls.page_file(src, self.pretty)}"
            e["key"] = sha256(json.dumps([run.salt, e["hash"], e["deps"], nav_hash, lang]).encode())
            old = old_pages.get(src, {})
            if old.get("key") == e["key"] and old.get("out") and store.object_path(old["out"]).exists() and src not in fresh:
                e["out"] = old["out"]
            else:
                to_assemble.append(src)
        nav_pos = {s: i for i, s in enumerate(nav.order)}
        done = 0
        for i in range(0, len(to_assemble), 40):
            batch = to_assemble[i : i + 40]
            await asyncio.to_thread(self._assemble_batch, batch, fresh, entries, nav, nav_pos, url_of, nav_markup, sections, out)
            done += len(batch)
            self._progress(0.7 + 0.25 * done / max(1, len(to_assemble)), f"assembled {done}/{len(to_assemble)} pages")
            ctx.raise_if_cancelled()
        files: dict[str, str] = {}
        changed: list[str] = []
        page_list: list[dict[str, Any]] = []
        for src in order:
            e = entries[src]
            if src not in to_assemble:
                store.publish(out, e["file"], digest=e["out"])
            files[e["file"]] = e["out"]
            if old_pages.get(src, {}).get("out") != e["out"]:
                changed.append(e["file"])
            page_list.append({"src": src, "file": e["file"], "url": f"{lang}/{url_of[src]}", "title": e["title"],
                              "level": nav.level.get(src, 0), "section": sections.get(src, []), "hash": e["out"],
                              "fallback": self.tree.pages[src].fallback, **self._state(src)})
        run.count("pages", len(order))
        run.count("assembled", len(to_assemble))
        run.count("skipped", len(order) - len(to_assemble))
        files.update(await asyncio.to_thread(self._publish_aliases, entries, order, url_of, files, out))
        files.update(await asyncio.to_thread(self._publish_assets, state, out))
        files.update(await self._publish_index(state, entries, fresh, order, url_of, sections, nav_hash, out))
        new_state = {"salt": run.salt, "out_dir": str(out), "files": files, "assets": self._asset_state,
                     "search_key": self._search_key, "pages": entries}
        await asyncio.to_thread(self._finish, state, new_state, out)
        return {"dir": f"{out.name}/{lang}", "pages": page_list, "changed": changed}

    def _publish_aliases(self, entries: dict[str, dict[str, Any]], order: list[str], url_of: dict[str, str],
                         pages: dict[str, str], out: Path) -> dict[str, str]:
        """Front matter ``aliases`` (old URLs) become redirect pages to the page's URL."""
        lang, files = self.lang, {}
        for src in order:
            for alias in entries[src].get("aliases", ()):
                clean = alias.strip().lstrip("/")
                if clean.endswith((".md", ".markdown")):
                    file = urls.page_file(clean, self.pretty)
                elif clean.endswith((".html", ".htm")):
                    file = clean
                else:
                    file = f"{clean.rstrip('/')}/index.html" if clean.strip("/") else "index.html"
                rel = f"{lang}/{file}"
                if rel in pages or rel in files or ".." in file.split("/"):
                    self.run.findings.append(Finding(
                        file=self.run.rel(self.tree.pages[src].path), rule="bad-alias", severity="warning",
                        language=lang, message=f"alias {alias!r} clashes with another page or leaves the site; ignored"))
                    continue
                target = urls.relative(rel, f"{lang}/{url_of[src]}")
                html = theme.render_named(self.run.env, "redirect.html", {
                    "lang": lang, "site_title": entries[src]["title"], "generator": self.run.generator,
                    "target": target, "canonical": f"{self.run.base_url}{lang}/{url_of[src]}"})
                files[rel] = self.store.publish(out, rel, html.encode())
        return files

    def _finish(self, state: dict[str, Any], new_state: dict[str, Any], out: Path) -> None:
        if state.get("out_dir") == str(out):
            remove_stale(out, state.get("files", {}), new_state["files"])
        self.store.collect_garbage()
        self.store.save_state(new_state)

    def _assemble_batch(self, batch: list[str], fresh: dict[str, dict[str, Any]], entries: dict[str, dict[str, Any]],
                        nav: Any, nav_pos: dict[str, int], url_of: dict[str, str], nav_markup: str,
                        sections: dict[str, list[str]], out_dir: Path) -> None:
        """Template and publish a batch of pages (runs in a thread: templating and file I/O)."""
        run, lang, site, store = self.run, self.lang, self.ctx.site, self.store
        languages = self.languages
        default = run.layout.default_language
        t = theme.labels(lang, default)
        for src in batch:
            frag = fresh.get(src) or store.load_fragment(lang, src)
            if frag is None:  # the cache lost a fragment: render it here
                frag = analyze.analyze(self._job(src), True)
                store.save_fragment(lang, src, frag)
            e = entries[src]
            file, url = e["file"], url_of[src]
            root = theme.root_prefix(file)
            pos = nav_pos.get(src)
            prev = nxt = None
            if pos is not None and pos > 0:
                p = nav.order[pos - 1]
                prev = {"title": entries[p]["title"], "href": urls.relative(file, f"{lang}/{url_of[p]}")}
            if pos is not None and pos + 1 < len(nav.order):
                n = nav.order[pos + 1]
                nxt = {"title": entries[n]["title"], "href": urls.relative(file, f"{lang}/{url_of[n]}")}
            ps = self.tree.pages[src]
            generated = translated.display_path(run.translation, ps.path) != ps.path  # no file to edit
            edit = site.edit_url.format(path=run.rel(ps.path)) if site.edit_url and not generated else None
            meta = frag.get("meta", {})
            state = translated.state_of(ps, lang, default)
            if state == "translated" and meta.get("machine_translated") is True:
                state = "machine"  # a machine translation committed to the language's folder stays marked
            date = meta.get("date")
            ctx = {
                "lang": lang, "dir": theme.text_dir(lang), "title": e["title"], "site_title": run.title_in(lang),
                "description": frag.get("description", ""), "canonical": f"{run.base_url}{lang}/{url}",
                "languages": [{"code": c, "label": theme.LANGUAGE_NAMES.get(c, c), "href": f"{root}{c}/{url}",
                               "canonical": f"{run.base_url}{c}/{url}"} for c in languages if self._has_page(c, src)],
                "root": root, "home": f"{root}{lang}/", "nav_html": Markup(theme.place_nav(nav_markup, root, f"{lang}/{url}")),
                "content": Markup(frag.get("html", "")), "toc": frag.get("toc", []), "has_h1": frag.get("has_h1", False),
                "fallback": ps.fallback, "fallback_lang": default, "notice": theme.notice(lang, state, default),
                "notice_class": "machine-note" if state == "machine" else "fallback-note",
                "translation": state if run.translation is not None else "",
                "fallback_dir": theme.text_dir(run.layout.default_language), "date": str(date) if date else None, "edit_url": edit, "prev": prev, "next": nxt,
                "t": t, "generator": run.generator, "version": site.version, "noindex": e.get("draft", False),
            }
            ctx.update(theme.mkdocs_extras(run.layout.mkdocs, lang, root, run.layout.default_language,
                                            MERMAID_MARK in frag.get("html", "")))
            html = theme.render_page(run.env, ctx)
            e["out"] = store.publish(out_dir, e["file"], html.encode())

    def _has_page(self, lang: str, src: str) -> bool:
        """Whether language ``lang`` has this page, so the switcher and ``hreflang`` never point
        at a page that does not exist. A language built in another run (a translation job)
        falls back to the default language's pages, so it has every page the default has."""
        trees = self.run.layout.trees
        if lang in trees:
            return src in trees[lang].pages
        default = trees.get(self.run.layout.default_language)
        if default is not None:
            return src in default.pages
        return self.run.source_pages is None or src in self.run.source_pages

    def _state(self, src: str) -> dict[str, str]:
        """A translated language's page state for the stage's page list (only when translating)."""
        if self.run.translation is None:
            return {}
        return {"translation": translated.state_of(self.tree.pages[src], self.lang, self.run.layout.default_language)}

    def _publish_assets(self, state: dict[str, Any], out: Path) -> dict[str, str]:
        old = state.get("assets", {})
        files: dict[str, str] = {}
        self._asset_state = {}
        for rel, path in self.tree.assets.items():
            try:
                st = path.stat()
            except OSError:
                continue
            sig = [str(path), st.st_size, st.st_mtime_ns]
            prev = old.get(rel)
            digest = prev["hash"] if prev and prev["sig"] == sig and self.store.object_path(prev["hash"]).exists() else None
            digest = self.store.publish(out, f"{self.lang}/{rel}", digest=digest, source=path)
            self._asset_state[rel] = {"sig": sig, "hash": digest}
            files[f"{self.lang}/{rel}"] = digest
        self.run.count("assets", len(files))
        return files

    async def _publish_index(self, state: dict[str, Any], entries: dict[str, dict[str, Any]], fresh: dict[str, dict[str, Any]], order: list[str],
                             url_of: dict[str, str], sections: dict[str, list[str]], nav_hash: str, out: Path) -> dict[str, str]:
        lang, store = self.lang, self.store
        pages = [s for s in order if not entries[s].get("draft")]
        changed = site_files.lastmod(self.run.lastmod, self.ctx.source, {s: self.tree.pages[s].path for s in pages},
                                     {s: f"{lang}/{url_of[s]}" for s in pages})
        sitemap = site_files.sitemap(self.run.base_url, [f"{lang}/{url_of[s]}" for s in pages], changed)
        files = {f"{lang}/sitemap.xml": await asyncio.to_thread(store.publish, out, f"{lang}/sitemap.xml", sitemap)}
        if changed:
            rel_lm = f"{lang}/{site_files.LASTMOD}"
            files[rel_lm] = await asyncio.to_thread(store.publish, out, rel_lm, site_files.lastmod_file(changed))
        key = sha256(json.dumps([nav_hash, [entries[s]["hash"] for s in pages], [entries[s]["deps"] for s in pages]]).encode())
        self._search_key = key
        rel = f"{lang}/search_index.json"
        rel_js = f"{lang}/search_index.js"
        old_digest = state.get("files", {}).get(rel)
        old_js = state.get("files", {}).get(rel_js)
        if (state.get("search_key") == key and old_digest and store.object_path(old_digest).exists()
                and old_js and store.object_path(old_js).exists()):
            files[rel] = await asyncio.to_thread(store.publish, out, rel, None, digest=old_digest)
            files[rel_js] = await asyncio.to_thread(store.publish, out, rel_js, None, digest=old_js)
            return files

        def build_index() -> str:
            # page texts live in their own small cache so a one-page change does not reload
            # every page's rendered fragment just for its words
            texts_file = store.root / "search_texts.json"
            try:
                texts: dict[str, str] = json.loads(texts_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                texts = {}
            texts.update({s: r.get("text", "") for s, r in fresh.items()})
            items = []
            for s in pages:
                if s not in texts:
                    texts[s] = (store.load_fragment(lang, s) or {}).get("text", "")
                items.append({"url": f"{lang}/{url_of[s]}", "title": entries[s]["title"],
                              "section": " / ".join(sections.get(s, [])), "text": texts[s]})
            generated = self.run.ctx.previous.get("openapi")  # one entry per API operation
            for e in (generated.outputs.get("search") or []) if generated is not None else []:
                if e["src"] in url_of:
                    items.append({"url": f"{lang}/{url_of[e['src']]}#{e['anchor']}", "title": e["title"],
                                  "section": " / ".join(sections.get(e["src"], [])), "text": e["text"]})
            atomic_write(texts_file, json.dumps({s: texts[s] for s in pages}).encode())
            index = site_files.search_index(lang, items)
            # the same index as a script: a site opened from disk (file://) cannot fetch() the JSON
            files[rel_js] = store.publish(out, rel_js, site_files.search_script(lang, index))
            return store.publish(out, rel, index)

        files[rel] = await asyncio.to_thread(build_index)
        return files


def config_salt(ctx: StageContext[Options], theme_hash: str) -> str:
    site = ctx.site
    dump = site.model_dump(mode="json")
    # the theme's strings live in code, not in the theme folder the fingerprint reads
    blob = json.dumps([RENDER_SALT, dump, theme_hash, theme.LABELS, theme.NOTICES], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()

