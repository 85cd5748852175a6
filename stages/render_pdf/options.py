"""``[stages.pdf]`` options."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from stages.base import StageOptions


class Options(StageOptions):
    required: bool = False
    """A PDF failure degrades the build unless this is true."""
    timeout: float = Field(default=300.0, gt=0)
    """Seconds for all books of one stage run; child processes are killed when it runs out."""
    workers: int = Field(default=0, ge=0)
    """Child processes rendering chapters at once; 0 means the machine's CPU count."""
    chapter_pages: int = Field(default=1, ge=1)
    """Most source pages in one separately rendered (and cached) chapter.

    One page per chapter by default: an edit then re-renders only the edited page (0.5 s for the
    FastAPI tutorial's first page, against 3.5 s for the six-page chapter it used to share), and
    every page starts its own document the same way, so the layout does not depend on this value.
    Larger values make a smaller PDF (fonts are embedded once per chapter: the FastAPI book is
    14 MB at 6 pages per chapter, 17 MB at 1) at the cost of re-rendering the neighbours of an
    edited page.
    """
    split_bytes: int = Field(default=150_000, ge=10_000)
    """A single page whose content is larger than this is rendered in several parts, split before
    its ``<h2>`` headings, so one huge page (release notes) does not serialise the whole book."""
    page_size: str = "A4"
    """CSS ``@page`` size, e.g. ``A4``, ``letter``, ``A5``."""
    stylesheets: list[str] = Field(default_factory=list)
    """Extra print CSS files, relative to the job's source folder, applied after the theme's
    ``print.css`` (so they override it)."""
    theme_css: list[str] = Field(default_factory=lambda: ["assets/pygments.css", "assets/print.css"])
    """Print CSS shipped by the site theme, relative to the rendered site root; missing files
    are ignored."""
    page_numbers: bool = True
    """Stamp the absolute page number in the footer of every page but the cover."""
    bookmarks: Literal["pages", "headings"] = "headings"
    """Outline depth: nav sections and pages, or also each page's ``<h2>`` headings."""
    incremental: bool = True
    """Reuse cached chapters (and whole books) whose HTML did not change."""
