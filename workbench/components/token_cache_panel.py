"""The Train page's view of the token-state cache: how much it holds, and a button that empties it."""

from __future__ import annotations

import streamlit as st

from orchestai_core.config import ConfigError
from orchestai_core.token_cache import TokenCache
from workbench.components.flash import flash
from workbench.components.text import md_escape


def _mb(size: int) -> str:
    return f"{size / 2**20:,.0f} MB" if size >= 2**20 else f"{size / 2**10:,.0f} KB"


def token_cache_panel(config: dict) -> None:
    """What the cache `config` sets holds and a Clear button; a line saying it is off when the config turns it
    off, and what is wrong with its settings when they are."""
    with st.expander("Token-state cache"):
        try:
            cache = TokenCache.from_config(config)
        except ConfigError as exc:
            st.warning(md_escape(exc))
            return
        if cache is None:
            st.caption("Off (token_cache.max_gb is 0, or no paths.token_cache): every run encodes its instructions.")
            return
        usage = cache.usage()
        st.caption(md_escape(
            f"{usage['entries']:,} instructions' token states, {_mb(usage['bytes'])} of at most "
            f"{_mb(usage['max_bytes'])}, in {usage['folder']}. A run reads the states of the instructions it finds "
            "here and runs the encoder only over the others; past the limit the states used longest ago go."))
        if st.button("Clear the cache", key="clear_token_cache", icon=":material/delete_sweep:",
                     disabled=not usage["entries"]):
            cleared = cache.clear()
            flash("success", f"Cleared the token states of {cleared['entries']:,} instructions "
                             f"({_mb(cleared['bytes'])}).")
            st.rerun()
