"""NumPy notebook (001): np.random.seed(42), randint(3) weights, softmax(QKᵀ/√d_k)."""

from __future__ import annotations

from ui.walkthrough import render

render("numpy_notebook")
