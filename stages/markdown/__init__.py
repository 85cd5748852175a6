"""The one Markdown engine ``lint`` and ``render_html`` share, and the page analysis built on it.

``engine`` is the markdown-it parser with the MkDocs-flavoured syntax (``blocks``, ``includes``,
``highlight``, ``inline_rules``, ``rawhtml``); ``analyze`` parses (and renders) pages, the unit of
work both stages send to the process pool. It reads front matter and URLs from :mod:`stages.site`.
Submodules import their heavy libraries (Pygments, markdown-it plugins) where first needed, so a
stage that never renders does not pay for them.
"""
