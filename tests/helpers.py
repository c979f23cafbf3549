"""Small helpers shared by the embedding tests."""

import numpy as np


def random_sequences(lengths, seed=0, alphabet="ACGT"):
    """Random sequences of the given lengths."""
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list(alphabet), n)) for n in lengths]


def cosine(a, b):
    """Row-wise cosine similarity of two embedding matrices."""
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
