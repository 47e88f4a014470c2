"""Paged lists: which page to show of how many."""

from __future__ import annotations


def page_window(total: int, page: int | None, size: int) -> tuple[int, int]:
    """(the page to show, the number of pages) for `total` rows `size` a page: `page`
    brought within 1..pages (a list with no row has one empty page)."""
    pages = max(1, -(-total // size))
    return min(max(1, page or 1), pages), pages
