"""Showing text that came from a log or a user inside Markdown-rendered labels, as literal text."""

from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=])")


def md_escape(text: object) -> str:
    """Backslash-escape every character Markdown (or Streamlit's extensions) could interpret."""
    return _MARKDOWN.sub(r"\\\1", str(text)).replace("\n", " ")
