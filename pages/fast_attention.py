"""How attention is computed fast: FlashAttention's tiles with the online softmax, and the KV cache.

Every number comes from the core: ``attention_core.tiled_attention`` (tile by tile) against
the Playground's default configuration run by ``run_lab`` (the exact weights), and
``attention_core.kv_cache_decode`` against the full causal computation.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from attention_core import (
    LabConfig,
    kv_cache_bytes_per_token,
    kv_cache_decode,
    multi_head_attention,
    state_after,
    tiled_attention,
)
from attention_core.view import FAST_ATTENTION_VIEW, FastAttentionView
from ui import shared, state
from ui.figures import chart_config, heatmap
from ui.intro import titled
from ui.text import literal

#: Words for the example sentence: the Playground's default sentence, continued.
PASSAGE = [
    "Life",
    "is",
    "short",
    "eat",
    "dessert",
    "first",
    "and",
    "then",
    "tell",
    "the",
    "story",
    "of",
    "the",
    "meal",
    "to",
    "a",
    "friend",
    "who",
    "was",
    "not",
    "there",
    "because",
    "every",
    "story",
    "grows",
    "a",
    "little",
    "each",
    "time",
    "it",
    "is",
    "told",
    "and",
    "the",
    "dessert",
    "becomes",
    "larger",
    "the",
    "walk",
    "home",
    "longer",
    "and",
    "the",
    "rain",
    "heavier",
    "until",
    "one",
    "day",
    "the",
    "friend",
    "tells",
    "it",
    "back",
    "to",
    "you",
    "as",
    "their",
    "own",
    "and",
    "you",
    "both",
    "laugh",
    "at",
    "the",
    "table",
    "again",
]
BLOCK_SIZES = (4, 8, 16)
#: Widths of a half, two and three fifths of the page at 1280×720: the figure builder fits labels and
#: numbers to them.
HALF, TWO_FIFTHS, THREE_FIFTHS = 400, 320, 480
STATUS = {0: "·", 1: "done", 2: "skipped", 3: "▶ now"}

titled("How attention is computed fast", "fast_attention")
st.caption(
    "Exact attention writes down the whole n × n matrix of scores. FlashAttention never does: it walks over "
    "tiles of queries × keys and keeps three running numbers per query row. It ends with the same weights. "
    "The example is the Playground's default configuration (random embeddings, torch seed 123, d_k = 24, "
    "d_v = 28, one head) on a longer sentence."
)

for problem in state.load_page_view_once(FAST_ATTENTION_VIEW, "fa_url_loaded"):  # the link's size and step
    st.warning(literal(problem))
c1, c2, c3 = st.columns([2, 1, 1])
n_tokens = c1.slider("Sentence length (tokens)", 16, 64, 24, key="fa_tokens", persist_state="session")
block = c2.selectbox(
    "Block size (queries and keys per tile)", BLOCK_SIZES, index=1, key="fa_block", persist_state="session"
)
causal = c3.toggle(
    "Causal mask",
    value=True,
    key="fa_causal",
    persist_state="session",
    help="Query i sees keys 0 … i; tiles above the diagonal are skipped.",
)

sentence = " ".join(PASSAGE[:n_tokens])
cfg = replace(LabConfig(), sentence=sentence, causal=causal)
trace = shared.cached_run_lab(cfg)
head = trace.attention.heads[0]
tokens = list(trace.tokens_q.tokens)
st.text("Sentence: " + sentence)

tiled = tiled_attention(
    head.Q, head.K, head.V, block_q=block, block_k=block, scale=head.scale, mask=head.mask
)
n_steps = tiled.n_tiles


state.keep_in_range("fa_step", n_steps - 1)  # fewer tiles than before: stay inside the range

st.subheader("The tiles, one step at a time")
st.latex(
    r"S = c\,Q_r K_c^\top \;(-\infty \text{ where masked}),\quad m' = \max(m, \max_j S),\quad "
    r"\alpha = e^{m - m'}"
)
st.latex(
    r"\ell' = \alpha\,\ell + \textstyle\sum_j e^{S - m'},\quad "
    r"\mathrm{acc}' = \alpha\,\mathrm{acc} + e^{S - m'} V_c,\quad \text{output} = \mathrm{acc} / \ell"
)
b1, b2, _ = st.columns([1, 1, 4])
b1.button(
    "◀ Previous", key="fa_prev", on_click=state.move_step, args=("fa_step", -1, n_steps - 1), width="stretch"
)
b2.button(
    "Next ▶", key="fa_next", on_click=state.move_step, args=("fa_step", 1, n_steps - 1), width="stretch"
)
# Numbered from 1, as the text below counts them (the state keeps the 0-based index).
step = st.select_slider(
    "Step (one tile per step)", options=range(n_steps), format_func=lambda k: str(k + 1), key="fa_step"
)

now = tiled.steps[step]
snap = state_after(tiled, step)
what = "skipped: every query–key pair in it is masked" if now.skipped else "computed"
st.text(
    f"Step {step + 1} of {n_steps}: query block {now.q_block} (tokens {now.q_start}–{now.q_stop - 1}) × "
    f"key block {now.k_block} (tokens {now.k_start}–{now.k_stop - 1}) — {what}. "
    f"Tiles skipped in the whole pass: {tiled.n_skipped} of {n_steps}."
)

left, right = st.columns(2)
with left:
    st.plotly_chart(
        heatmap(
            snap.weights_so_far,
            title="weights so far: exp(S − m) / ℓ",
            row_labels=tokens,
            col_labels=tokens,
            kind="weights",
            text_width=HALF,
        ),
        width="stretch",
        key="fa_weights_chart",
        config=chart_config("tiled-weights-so-far"),
    )
with right:
    st.dataframe(
        pd.DataFrame(
            [[STATUS[int(v)] for v in row] for row in snap.tile_status],
            columns=[
                f"k {j * block}–{min(len(tokens), (j + 1) * block) - 1}"
                for j in range(snap.tile_status.shape[1])
            ],
            index=[
                f"q {i * block}–{min(len(tokens), (i + 1) * block) - 1}"
                for i in range(snap.tile_status.shape[0])
            ],
        ),
        height=min(400, 38 + 35 * snap.tile_status.shape[0]),
    )
    if now.skipped:
        st.info(
            "This tile is entirely above the diagonal of the causal mask: nothing is computed, "
            "and the running state of its rows does not change."
        )
    else:
        st.plotly_chart(
            heatmap(
                now.scores,
                title="S: this tile's scaled scores",
                row_labels=tokens[now.q_start : now.q_stop],
                col_labels=tokens[now.k_start : now.k_stop],
                kind="scores",
                text_width=HALF,
            ),
            width="stretch",
            key="fa_tile_chart",
            config=chart_config("tiled-tile-scores"),
        )

# m and ℓ of the tile's query rows: the state FlashAttention keeps on chip for this block, as one figure of
# two columns (each alone was a 1–2 px wide column); hover and the cells give the values.
block_rows = tokens[now.q_start : now.q_stop]
m_col, o_col = st.columns([2, 3])
with m_col:
    st.plotly_chart(
        heatmap(
            np.stack([now.running_max, now.running_sum], axis=1),
            title="m: running max, ℓ: running sum",
            row_labels=block_rows,
            col_labels=["m", "ℓ"],
            kind="values",
            col_title="",
            text_width=TWO_FIFTHS,
        ),
        width="stretch",
        key="fa_m_chart",
        config=chart_config("tiled-running-max-and-sum"),
    )
with o_col:
    st.plotly_chart(
        heatmap(
            snap.partial_output,
            title="output so far: acc / ℓ",
            row_labels=tokens,
            col_labels=[str(j) for j in range(snap.partial_output.shape[1])],
            kind="values",
            col_title="dimension",
            text_width=HALF,
        ),
        width="stretch",
        key="fa_out_chart",
        config=chart_config("tiled-partial-output"),
    )

st.subheader("The same weights as the Playground")
dw = float(np.max(np.abs(tiled.weights - head.weights)))
do = float(np.max(np.abs(tiled.output - head.output)))
st.text(
    f"max |tiled − exact| = {dw:.3g} on the weights, {do:.3g} on the output "
    f"({len(tokens)} tokens, blocks of {block}, {n_steps - tiled.n_skipped} tiles computed)."
)
st.caption(
    "The exact side is the Playground's computation of this configuration (run_lab); the tiled side "
    "never held the whole score matrix at once: its weights are recomputed tile by tile from the final "
    "m and ℓ, as FlashAttention's backward pass does."
)

# ---------------------------------------------------------------------------- KV cache
st.header("Generating token by token: the KV cache")
st.caption(
    "A model that writes one token at a time needs, for the new token, only its query and the keys and "
    "values of the tokens before it. Those never change, so they are kept in a cache: each step computes one "
    "new key and value and appends them. Grouped-query attention keeps fewer key/value heads, and the cache "
    "shrinks with them."
)
k1, k2 = st.columns(2)
n_heads = k1.selectbox("Query heads", (1, 2, 4), index=2, key="fa_heads", persist_state="session")
kv_choices = [g for g in (1, 2, 4) if n_heads % g == 0 and g <= n_heads]
state.keep_choice("fa_kv_heads", kv_choices, kv_choices[0])
n_kv = k2.selectbox(
    "Key/value heads",
    kv_choices,
    key="fa_kv_heads",
    help="1 is multi-query attention; as many as query heads is ordinary multi-head attention.",
)

mh = shared.cached_run_lab(replace(cfg, causal=True, n_heads=n_heads))
h, h_v = mh.W_q.shape[1] // n_heads, mh.W_v.shape[1] // n_heads
# With fewer key/value heads a model simply has fewer key and value columns: keep the first n_kv heads' ones.
W_k, W_v = mh.W_k[:, : n_kv * h], mh.W_v[:, : n_kv * h_v]
gqa = None if n_kv == n_heads else {"n_kv_heads": n_kv}
decoded = kv_cache_decode(
    mh.embeddings, mh.W_q, W_k, W_v, mh.W_o, n_heads, scale=mh.attention.heads[0].scale, **(gqa or {})
)
full = (
    mh.attention
    if gqa is None
    else multi_head_attention(
        mh.embeddings,
        mh.embeddings,
        mh.W_q,
        W_k,
        W_v,
        mh.W_o,
        n_heads,
        causal=True,
        scale=mh.attention.heads[0].scale,
        **gqa,
    )
)

t = st.slider("Generated up to token", 0, len(tokens) - 1, min(7, len(tokens) - 1), key="fa_token")
dstep = decoded.steps[t]
per_token_full = kv_cache_bytes_per_token(n_heads, h, h_v)
st.text(
    f"Token {t} ({tokens[t]}): the cache holds {len(dstep.cached_positions)} keys and values, "
    f"{dstep.cache_bytes:,} bytes = {len(dstep.cached_positions)} tokens × {decoded.bytes_per_token} bytes "
    f"({n_kv} key/value head{'s' if n_kv > 1 else ''} × ({h} + {h_v}) numbers × 8 bytes). "
    "With one key/value head per query head: "
    f"{per_token_full} bytes per token."
)
kc1, kc2 = st.columns([2, 3])
with kc1:
    st.plotly_chart(
        heatmap(
            dstep.K_cache,
            title="K_cache: the cached keys",
            row_labels=tokens[: t + 1],
            col_labels=[str(j) for j in range(dstep.K_cache.shape[1])],
            kind="values",
            row_title="cached token",
            col_title="dimension",
            text_width=TWO_FIFTHS,
        ),
        width="stretch",
        key="fa_kcache_chart",
        config=chart_config("kv-cache-keys"),
    )
with kc2:
    st.plotly_chart(
        heatmap(
            np.concatenate([hd.weights for hd in dstep.attention.heads]),
            title="weights of the new token over the cache, per head",
            row_labels=[f"head {i}" for i in range(n_heads)],
            col_labels=tokens[: t + 1],
            kind="weights",
            row_title="head",
            height=260,
            text_width=THREE_FIFTHS,
        ),
        width="stretch",
        key="fa_newweights_chart",
        config=chart_config("kv-cache-weights"),
    )
steps_done = np.arange(1, len(tokens) + 1)
st.plotly_chart(
    {  # a Plotly line (keyboard- and screen-reader-quiet like the heatmaps; no user text in it)
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": steps_done,
                "y": steps_done * decoded.bytes_per_token,
                "name": f"{n_kv} key/value head{'s' if n_kv > 1 else ''}",
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": steps_done,
                "y": steps_done * per_token_full,
                "name": f"{n_heads} key/value heads",
            },
        ],
        "layout": {
            "title": {"text": "KV cache size (one layer)"},
            "height": 320,
            "xaxis": {"title": {"text": "tokens generated"}},
            "yaxis": {"title": {"text": "cache bytes"}},
        },
    },
    width="stretch",
    key="kv_growth",
)
dc = float(np.max(np.abs(decoded.output - full.output)))
st.text(f"max |cached − full causal| = {dc:.3g} over all {len(tokens)} tokens' outputs.")
state.write_page_view(FAST_ATTENTION_VIEW, FastAttentionView())  # the address bar: this size and step
