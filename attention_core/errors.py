"""The one exception type the core raises for bad input.

Every check in ``attention_core`` that rejects user input (a shape that does not
fit, a NaN in a matrix, a dimension of zero, a seed out of range) raises
:class:`ValidationError`. It is a :class:`ValueError`, so ``except ValueError``
in a notebook catches it, and the app can tell "the user typed something we
refuse" (show the message next to the widget) from a bug (let it surface).
"""

from __future__ import annotations


class ValidationError(ValueError):
    """Input rejected by ``attention_core``; the message says what and why.

    ``field`` optionally names the setting at fault (``"sentence"``, ``"d_k"``,
    ``"seed"``, …) so that a UI can put the message next to that widget.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
