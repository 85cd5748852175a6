"""The site model both ``lint`` and ``render_html`` read: source layout, languages, nav,
front matter and the markdown parser. Kept in one place so the two stages can never disagree on
what a page, its title, its ids or its links are. Submodules import heavy libraries lazily.
"""
