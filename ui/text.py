"""Text that must reach the page exactly as written.

Streamlit's alerts, captions and markdown interpret Markdown, ``$…$`` LaTeX,
``:red[…]`` directives and image links (which fetch their URL). Any message
that may contain what a person typed (a sentence, a cell, a link) goes through
:func:`literal` first, which backslash-escapes every character those syntaxes
use, so the page shows the characters and interprets none of them.

Escapes do not stop GitHub's *autolinks*: Streamlit's Markdown (remark-gfm) turns
``http://…``, ``www.…`` and ``name@host.org`` into links after the escapes are
decoded, so a URL typed into a number box came back as a clickable link. A word
joiner (U+2060, invisible, zero width, no line break) between ``http`` and ``:``,
after ``www`` and before ``@`` breaks each of those patterns and changes nothing
a reader sees.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:=&\"'^%@/])")
WORD_JOINER = "\u2060"
#: Where GFM's autolink patterns start: ``http:``/``https:``, ``www.``, and the ``@`` of an address.
_AUTOLINK = re.compile(r"(?<=http)(?=:)|(?<=https)(?=:)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)


def literal(text: str) -> str:
    """``text`` escaped for Streamlit Markdown: shown verbatim, interpreted as nothing, linked nowhere.

    Newlines become Markdown line breaks so multi-line messages keep their shape.
    """
    unlinked = _AUTOLINK.sub(WORD_JOINER, str(text))
    return _SPECIAL.sub(r"\\\1", unlinked).replace("\n", "  \n")
