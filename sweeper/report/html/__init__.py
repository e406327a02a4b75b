"""The HTML report: one self-contained page per sweep (`golf report SWEEP --html PATH`), which
`golf sweep` also keeps up to date as its live view in a browser.

    figures  the numbers behind the charts (means, bands, differences, Kaplan-Meier, thinned runs)
    tables   the ranking, progress, challenge accounting and runs tables as HTML
    page     assembles page.html + page.css + charts.js + the data into one file
    live     LivePage: rewrites the page while a sweep runs
"""

from sweeper.report.html.live import LivePage, live_page_path
from sweeper.report.html.page import PageOptions, build_page, write_page

__all__ = ["LivePage", "PageOptions", "build_page", "live_page_path", "write_page"]
