"""The four seed walkthroughs as data: a configuration plus the numbers each one printed.

Each :class:`Preset` holds a :class:`~attention_core.lab.LabConfig` (which
:func:`~attention_core.lab.run_lab` turns into a full trace) and, under
``printed``, the numbers its tutorial printed, copied from the source with the
cell they came from, so that the walkthrough pages and the tests can show and
check them side by side.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .lab import LabConfig, LabTrace, run_lab

# The four "encoder representations" of the R vignette and the NumPy notebook.
FOUR_WORDS: tuple[tuple[float, ...], ...] = ((1, 0, 0), (0, 1, 0), (1, 1, 0), (0, 0, 1))


@dataclass(frozen=True)
class Printed:
    """A matrix or vector as a tutorial printed it, and where."""

    where: str  # e.g. "In [52]"
    values: tuple  # nested tuples, rows as printed
    decimals: int  # digits after the point in the print-out (sets the test tolerance)


@dataclass(frozen=True)
class Preset:
    key: str  # stable identifier, used in URLs
    title: str
    source: str  # which seed file / tutorial
    description: str  # what it shows and where the source has quirks
    config: LabConfig
    printed: dict[str, Printed] = field(default_factory=dict)

    def trace(self) -> LabTrace:
        return run_lab(self.config)


R_VIGNETTE = Preset(
    key="r_vignette",
    title="R vignette (set.seed(0))",
    source="seed 000: R package 'attention', vignette 'Simple Self-Attention from Scratch'",
    description=(
        "Four one-hot-ish words; set.seed(0); W_Q, W_K, W_V = matrix(floor(runif(9, 0, 3)), 3, 3), "
        "filled column by column as R does. The package's ComputeWeights(scores) subtracts each "
        "row's maximum and divides by sqrt(nrow(scores)) — the number of query rows, here 4 — "
        "not by sqrt(d_k) = sqrt(3) as the paper does; it also always returns a 4 x 4 matrix, "
        "so it only works for four tokens. The preset uses the same 1/sqrt(n) scaling, which "
        "gives ComputeWeights' numbers exactly for these four words."
    ),
    config=LabConfig(
        sentence="word_1 word_2 word_3 word_4",
        embedding="manual",
        manual_embeddings=FOUR_WORDS,
        d_model=3,
        d_k=3,
        d_v=3,
        random_source="r",
        seed=0,
        init="int3",
        scale_mode="sqrt_n",
        draw_order="table_first",
    ),
)

NUMPY_NOTEBOOK = Preset(
    key="numpy_notebook",
    title="NumPy notebook (seed 42)",
    source="seed 001: NumPy notebook after 'The Attention Mechanism from Scratch'",
    description=(
        "The same four words; np.random.seed(42); W_Q, W_K, W_V = np.random.randint(3, size=(3, 3)); "
        "weights = softmax(Q Kᵀ / sqrt(d_k)) with d_k = 3 (scipy.special.softmax, axis=1)."
    ),
    config=LabConfig(
        sentence="word_1 word_2 word_3 word_4",
        embedding="manual",
        manual_embeddings=FOUR_WORDS,
        d_model=3,
        d_k=3,
        d_v=3,
        random_source="numpy",
        seed=42,
        init="int3",
        scale_mode="sqrt_dk",
        draw_order="table_first",
    ),
    printed={
        "W_q": Printed("In [40]", ((2, 0, 2), (2, 0, 0), (2, 1, 2)), 0),
        "Q": Printed("In [42]", ((2, 0, 2), (2, 0, 0), (4, 0, 2), (2, 1, 2)), 0),
        "K": Printed("In [42]", ((2, 2, 2), (0, 2, 1), (2, 4, 3), (0, 1, 1)), 0),
        "V": Printed("In [42]", ((1, 1, 0), (0, 1, 1), (1, 2, 1), (0, 0, 0)), 0),
        "scores": Printed("In [50]", ((8, 2, 10, 2), (4, 0, 4, 0), (12, 2, 14, 2), (10, 4, 14, 3)), 0),
        "weights": Printed(
            "In [51]",
            (
                (2.36089863e-01, 7.38987555e-03, 7.49130386e-01, 7.38987555e-03),
                (4.54826323e-01, 4.51736775e-02, 4.54826323e-01, 4.51736775e-02),
                (2.39275049e-01, 7.43870015e-04, 7.59237211e-01, 7.43870015e-04),
                (8.99501754e-02, 2.81554063e-03, 9.05653685e-01, 1.58059922e-03),
            ),
            9,
        ),
        "output": Printed(
            "In [52]",
            (
                (0.98522025, 1.74174051, 0.75652026),
                (0.90965265, 1.40965265, 0.5),
                (0.99851226, 1.75849334, 0.75998108),
                (0.99560386, 1.90407309, 0.90846923),
            ),
            8,
        ),
    },
)

PYTORCH_NOTEBOOK = Preset(
    key="pytorch_notebook",
    title="PyTorch notebook (manual_seed(123))",
    source="seed 002: PyTorch notebook after Raschka, 'Self-attention from scratch'",
    description=(
        "'Life is short, eat dessert first': ids from the sorted words, torch.manual_seed(123), "
        "nn.Embedding(6, 16) (a randn draw), then W_query, W_key, W_value = rand(24, 16), "
        "rand(24, 16), rand(28, 16), in that order from the same stream, applied as q = W x "
        "(column vectors; the app shows Wᵀ, so that Q = X W). The notebook prints one query row, "
        "'is' (omega_2 = query_2 · keys), and its softmax with scale 1/sqrt(d_k) = 1/sqrt(24). "
        "This preset keeps the notebook's order (the embedding table of the vocabulary first), so a "
        "new word redraws W_query, W_key and W_value; the Playground's default draws the weights "
        "first and each word's embedding from the word itself, so they stay."
    ),
    config=LabConfig(
        sentence="Life is short, eat dessert first",
        embedding="random",
        embedding_init="normal",
        d_model=16,
        d_k=24,
        d_v=28,
        random_source="torch",
        seed=123,
        init="uniform",
        scale_mode="sqrt_dk",
        draw_order="table_first",
    ),
    printed={
        "ids": Printed("In [2]", (0, 4, 5, 2, 1, 3), 0),
        "embeddings": Printed(
            "In [7]",
            (
                (
                    0.3374,
                    -0.1778,
                    -0.3035,
                    -0.5880,
                    0.3486,
                    0.6603,
                    -0.2196,
                    -0.3792,
                    0.7671,
                    -1.1925,
                    0.6984,
                    -1.4097,
                    0.1794,
                    1.8951,
                    0.4954,
                    0.2692,
                ),
                (
                    0.5146,
                    0.9938,
                    -0.2587,
                    -1.0826,
                    -0.0444,
                    1.6236,
                    -2.3229,
                    1.0878,
                    0.6716,
                    0.6933,
                    -0.9487,
                    -0.0765,
                    -0.1526,
                    0.1167,
                    0.4403,
                    -1.4465,
                ),
                (
                    0.2553,
                    -0.5496,
                    1.0042,
                    0.8272,
                    -0.3948,
                    0.4892,
                    -0.2168,
                    -1.7472,
                    -1.6025,
                    -1.0764,
                    0.9031,
                    -0.7218,
                    -0.5951,
                    -0.7112,
                    0.6230,
                    -1.3729,
                ),
                (
                    -1.3250,
                    0.1784,
                    -2.1338,
                    1.0524,
                    -0.3885,
                    -0.9343,
                    -0.4991,
                    -1.0867,
                    0.8805,
                    1.5542,
                    0.6266,
                    -0.1755,
                    0.0983,
                    -0.0935,
                    0.2662,
                    -0.5850,
                ),
                (
                    -0.0770,
                    -1.0205,
                    -0.1690,
                    0.9178,
                    1.5810,
                    1.3010,
                    1.2753,
                    -0.2010,
                    0.4965,
                    -1.5723,
                    0.9666,
                    -1.1481,
                    -1.1589,
                    0.3255,
                    -0.6315,
                    -2.8400,
                ),
                (
                    0.8768,
                    1.6221,
                    -1.4779,
                    1.1331,
                    -1.2203,
                    1.3139,
                    1.0533,
                    0.1388,
                    2.2473,
                    -0.8036,
                    -0.2808,
                    0.7697,
                    -0.6596,
                    -0.7979,
                    0.1838,
                    0.2293,
                ),
            ),
            4,
        ),
        "omega_24": Printed("In [19]", (2.3206,), 4),
        "omega_2": Printed("In [22]", (-7.0847, -4.5398, 3.9887, 10.2379, 2.3206, -10.5434), 4),
        "attention_weights_2": Printed("In [36]", (0.0185, 0.0312, 0.1778, 0.6368, 0.1265, 0.0092), 4),
    },
)

BLOG_SELF = Preset(
    key="blog_self",
    title="Blog: self-attention with Q = K = V = X",
    source="seed 003: blog post on self-, cross- and multi-head attention",
    description=(
        "Self-attention with no projections: the queries, keys and values are the embeddings "
        "themselves (W_q = W_k = W_v = I), uniform [0, 1) from np.random.rand as in the blog's "
        "class. Quirks of the blog's code, which the preset does not copy: it ignores its "
        "input and draws a fresh random (d_model, seq_length) matrix, so Q Kᵀ compares the "
        "d_model feature rows instead of the tokens; and it multiplies the scaled scores by "
        "1/d_model² before the softmax and the output by d_model² after it, which flattens "
        "the weights rather than cancelling out. The blog prints no numbers."
    ),
    config=LabConfig(
        sentence="I ate an apple",
        embedding="random",
        embedding_init="uniform",
        d_model=4,
        projections=False,
        random_source="numpy",
        seed=0,
        init="uniform",
        scale_mode="sqrt_dk",
        draw_order="table_first",
    ),
)

BLOG_MULTIHEAD = Preset(
    key="blog_multihead",
    title="Blog: multi-head attention",
    source="seed 003: blog post on self-, cross- and multi-head attention",
    description=(
        "Several sets of query, key and value matrices, one per head, each attending on its "
        "own block of columns; the heads' outputs are concatenated and projected by W_o. "
        "Two heads of width 4 on d_model = 8, normal initialisation, scale 1/sqrt(4) per head."
    ),
    config=LabConfig(
        sentence="I ate an apple",
        embedding="random",
        embedding_init="normal",
        d_model=8,
        d_k=8,
        d_v=8,
        random_source="numpy",
        seed=0,
        init="normal",
        n_heads=2,
        scale_mode="sqrt_dk",
        draw_order="table_first",
    ),
)

BLOG_CROSS = Preset(
    key="blog_cross",
    title="Blog: cross-attention",
    source="seed 003: blog post on self-, cross- and multi-head attention",
    description=(
        "Cross-attention: the queries come from one sentence and the keys and values from "
        "another (as a translation decoder attends to its source sentence). Each query row "
        "is a distribution over the other sentence's tokens."
    ),
    config=LabConfig(
        sentence="I ate an apple",
        cross_sentence="j'ai mangé une pomme",
        embedding="random",
        embedding_init="normal",
        d_model=8,
        d_k=8,
        d_v=8,
        random_source="numpy",
        seed=0,
        init="normal",
        scale_mode="sqrt_dk",
        draw_order="table_first",
    ),
)

PRESETS: dict[str, Preset] = {
    p.key: p for p in (R_VIGNETTE, NUMPY_NOTEBOOK, PYTORCH_NOTEBOOK, BLOG_SELF, BLOG_MULTIHEAD, BLOG_CROSS)
}
