"""The site model both ``lint`` and ``render_html`` read: the ``[site]`` options, the source layout
and its languages, the nav, front matter, output URLs and what changed since the last build.

Kept in one place so the two stages can never disagree on what a page, its title or its address
is. Nothing here parses Markdown: that is :mod:`stages.markdown`, which builds on this package
(never the other way round), as MkDocs keeps ``structure/`` apart from the code that renders it.
"""
