"""Markup out of free text: what a person typed reaches prompts, captions and images as text.

nh3 (the maintained successor of bleach, a binding to the Rust `ammonia` sanitiser) removes
every tag, and the content of script and style elements, with nothing allowed. It returns
HTML-escaped text; captions are plain text, so entities are turned back into characters, and
the round repeats until nothing changes, so `&lt;b&gt;` cannot come back as a tag.
"""

from __future__ import annotations

import html

import nh3

_ROUNDS = 4  # each round removes one layer of escaping; real text is stable after one


def strip_markup(text: str) -> str:
    if "<" not in text and "&" not in text:
        return text  # no tag and no entity: nothing nh3 would change (the common case)
    cleaned = text
    for _ in range(_ROUNDS):
        again = html.unescape(nh3.clean(cleaned, tags=set(), attributes={}))
        if again == cleaned:
            return cleaned
        cleaned = again
    # Still changing: escaped markup nested deeper than any real text is; drop what remains.
    return nh3.clean(cleaned, tags=set(), attributes={}).replace("&lt;", "").replace("&gt;", "")
