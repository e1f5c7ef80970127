"""The timeline's own XML escaping gives the text xml.sax.saxutils gives (the timeline
does not import saxutils: it drags urllib.request, http, email and ssl in)."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from hypothesis import given
from hypothesis import strategies as st

from player_sim import _timeline

TRICKY = st.text(alphabet=st.sampled_from("&<>\"'\n\r\t aé;#"), max_size=12) | st.text()


@given(TRICKY)
def test_escape_is_saxutils_escape(text: str) -> None:
    assert _timeline.escape(text) == escape(text)


@given(TRICKY)
def test_quoteattr_is_saxutils_quoteattr(text: str) -> None:
    assert _timeline.quoteattr(text) == quoteattr(text)
