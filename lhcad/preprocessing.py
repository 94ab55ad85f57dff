"""Quantile preprocessing and the train/validation/test split.

scikit-learn's QuantileTransformer maps each feature to a normal (or uniform) distribution,
which suits a VAE with a Gaussian prior. It is stored as plain arrays (the fitted quantiles and
references) and rebuilt from them: no pickle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sklearn.preprocessing import QuantileTransformer

TRAIN, VAL, TEST = 0, 1, 2


def stratified_split(labels: np.ndarray, val: float, test: float, seed: int | np.random.SeedSequence) -> np.ndarray:
    """``TRAIN``/``VAL``/``TEST`` per event, each class (label value) split in the same
    proportions, seeded: for labelled samples of any kind (digits, point sets, e/gamma)."""
    rng = np.random.default_rng(seed)
    split = np.full(len(labels), TRAIN, dtype=np.int8)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test, n_val = round(test * len(members)), round(val * len(members))
        split[members[:n_test]] = TEST
        split[members[n_test : n_test + n_val]] = VAL
    return split


def split_events(n: int, fractions: tuple[float, float, float], seed: int, labelled: bool, unlabelled: str) -> np.ndarray:
    """Assign each event to train (0), validation (1) or test (2), seeded.

    Unlabelled data with ``unlabelled="all"`` has no test part: what is not validation trains.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_val = int(round(fractions[1] * n))
    n_test = int(round(fractions[2] * n)) if (labelled or unlabelled == "split") else 0
    split = np.full(n, TRAIN, dtype=np.int8)
    split[order[:n_val]] = VAL
    split[order[n_val : n_val + n_test]] = TEST
    return split


def fit_quantile_transform(x: np.ndarray, n_quantiles: int, output_distribution: str, subsample: int, seed: int) -> QuantileTransformer:
    """Fit a QuantileTransformer on the training events."""
    from sklearn.preprocessing import QuantileTransformer

    qt = QuantileTransformer(
        n_quantiles=min(n_quantiles, len(x)),
        output_distribution=output_distribution,
        subsample=subsample,
        random_state=seed,
    )
    return qt.fit(x)


def quantile_to_arrays(qt: QuantileTransformer) -> dict[str, np.ndarray]:
    """The arrays that define a fitted transform."""
    return {
        "quantiles": qt.quantiles_,
        "references": qt.references_,
        "output_distribution": np.array(qt.output_distribution),
    }


def quantile_from_arrays(arrays: dict[str, np.ndarray]) -> QuantileTransformer:
    """Rebuild a fitted QuantileTransformer from :func:`quantile_to_arrays` output."""
    from sklearn.preprocessing import QuantileTransformer

    quantiles = np.asarray(arrays["quantiles"], dtype=np.float64)
    qt = QuantileTransformer(n_quantiles=quantiles.shape[0], output_distribution=str(arrays["output_distribution"]))
    qt.quantiles_ = quantiles
    qt.references_ = np.asarray(arrays["references"], dtype=np.float64)
    qt.n_quantiles_ = quantiles.shape[0]
    qt.n_features_in_ = quantiles.shape[1]
    return qt
