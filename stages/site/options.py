"""The ``[site]`` section: what every stage knows about the site being built."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur"})


class SiteOptions(BaseModel):
    """The docs site. ``source`` is relative to the config file's folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "docs"
    """Short machine name: used for PDF file names and deploy folders."""
    source: str = "content-samples"
    """Folder holding the docs (with per-language sub-folders ``<lang>/`` or an mkdocs layout)."""
    title: str = "Documentation"
    """Site title: page titles, the PDF cover, notifications."""
    base_url: str = "http://127.0.0.1:8081/sites/staging/"
    """Public URL of the deployed site, used for canonical links and the sitemap; default: the daemon's
    sites origin (``[server] sites_base_url`` or ``sites_port``) + ``/sites/<deploy target>/``."""
    raw_html: Literal["allow", "sanitize", "escape"] = "allow"
    """Raw HTML in Markdown: ``allow`` publishes it as written (docs need it); ``sanitize`` keeps safe
    tags and drops scripts, ``on*`` handlers, ``javascript:`` URLs, iframes and styles; ``escape`` shows it as text."""
    default_language: str = "en"
    """The source language; translations fall back to its pages."""
    languages: list[str] = Field(default_factory=lambda: ["en"])
    """Languages to build (``<source>/<lang>/`` folders, or mkdocs ``docs/<lang>/``)."""
    nav: list[Any] | None = None
    """Optional nav tree in mkdocs.yml form; else mkdocs.yml in the source, else the folder tree."""
    pretty_urls: bool = True
    """``page/`` (True) or ``page.html`` (False)."""
    edit_url: str | None = None
    """Template for "edit this page" links, e.g. ``https://git.example/docs/edit/main/{path}``."""
    version: str | None = None
    """Version shown on the PDF cover and in the theme (default: the commit, when known)."""
    theme: str | None = None
    """Folder (relative to the source) overriding the default theme templates."""
    layout: Literal["auto", "languages", "mkdocs"] = "auto"
    """How languages are laid out: ``<source>/<lang>/``; mkdocs-style ``docs/<lang>/docs``; or guess."""
    mkdocs_config: str | None = None
    """Path (relative to the source) of an mkdocs.yml to take the nav and docs folders from;
    default: ``mkdocs.yml``, ``docs/<default_language>/mkdocs.yml`` or ``<default_language>/mkdocs.yml`` when present."""
    max_page_bytes: int = Field(2_000_000, gt=0)
    """Pages larger than this are not parsed; they become a ``page-too-large`` finding."""
    include_root: Path | None = None
    """Folder that includes may read from (nothing outside it is read); default: for ``pressroom build``
    the git work tree holding the source, else the current folder (``--root`` sets it); for the daemon,
    the submission."""
    drafts: bool = False
    """Build pages whose front matter says ``draft: true`` (``pressroom build --drafts``)."""
