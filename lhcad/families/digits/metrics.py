"""How well clusters and latent spaces separate the digits: purity, NMI, latent kNN accuracy.

>>> import numpy as np
>>> cluster_purity(np.array([0, 0, 1, 1]), np.array([3, 3, 3, 5]))
0.75
"""

from __future__ import annotations

import numpy as np


def cluster_purity(clusters: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of images whose label is their cluster's majority label (1 = every cluster
    holds one digit; a single cluster scores the largest class's fraction)."""
    clusters, labels = np.asarray(clusters), np.asarray(labels)
    if len(clusters) == 0 or len(clusters) != len(labels):
        raise ValueError("need equally many (and some) cluster assignments and labels")
    _, cluster_index = np.unique(clusters, return_inverse=True)
    _, label_index = np.unique(labels, return_inverse=True)
    table = np.zeros((cluster_index.max() + 1, label_index.max() + 1), dtype=np.int64)
    np.add.at(table, (cluster_index, label_index), 1)
    return float(table.max(1).sum() / len(labels))


def majority_labels(clusters: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """The majority label of every cluster ``0..n_clusters-1`` (-1 for an empty one)."""
    majority = np.full(n_clusters, -1, dtype=np.int64)
    for k in np.unique(clusters):
        majority[k] = np.bincount(labels[clusters == k]).argmax()
    return majority


def normalized_mutual_information(clusters: np.ndarray, labels: np.ndarray) -> float:
    """scikit-learn's NMI (arithmetic normalisation): 1 = clusters and labels determine each
    other, 0 = independent."""
    from sklearn.metrics import normalized_mutual_info_score

    return float(normalized_mutual_info_score(labels, clusters))


def knn_accuracy(
    z_train: np.ndarray, y_train: np.ndarray, z_test: np.ndarray, y_test: np.ndarray, k: int = 5
) -> float:
    """Test accuracy of a k-nearest-neighbour classifier fitted on the training points."""
    from sklearn.neighbors import KNeighborsClassifier

    classifier = KNeighborsClassifier(n_neighbors=min(k, len(z_train)))
    classifier.fit(z_train, y_train)
    return float(classifier.score(z_test, y_test))


def pca_projection(x_train: np.ndarray, x: np.ndarray, dimensions: int = 2) -> np.ndarray:
    """``x`` projected on the leading principal components of ``x_train``: the linear
    counterpart of a latent space of the same dimension."""
    from sklearn.decomposition import PCA

    return PCA(n_components=dimensions, random_state=0).fit(x_train).transform(x)
