"""Text that must reach the page exactly as written.

Streamlit's alerts, captions and markdown interpret Markdown, ``$…$`` LaTeX,
``:red[…]`` directives and image links (which fetch their URL). Any message
that may contain what a person typed (a sentence, a cell, a link) goes through
:func:`literal` first, which backslash-escapes every character those syntaxes
use, so the page shows the characters and interprets none of them.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:=&\"'^%@/])")


def literal(text: str) -> str:
    """``text`` escaped for Streamlit Markdown: shown verbatim, interpreted as nothing.

    Newlines become Markdown line breaks so multi-line messages keep their shape.
    """
    return _SPECIAL.sub(r"\\\1", str(text)).replace("\n", "  \n")
