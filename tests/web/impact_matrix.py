"""Rows of the role × route matrix for the leadership impact screens (issue 8)."""

from __future__ import annotations


def rows(Route) -> list:
    return []
