"""The flow-matching set generator and JetNet's bootstrapped metrics: energy flow polynomials equal
to their defining sums, W1M / W1P / W1EFP that a known distortion moves by a known amount, a
velocity network that is permutation-equivariant and blind to padding, and a generator that
learns where the points lie and how many there are."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest
import torch

from lhcad.errors import ConfigError
from lhcad.families.pointcloud.config import PointCloudGeneratorConfig
from lhcad.families.pointcloud.efp import EFP_GRAPHS, jetnet_efps
from lhcad.families.pointcloud.flow import SetFlow, SetFlowArchitecture, integrate
from lhcad.families.pointcloud.generator import (
    TrainedSetGenerator,
    multiplicity_distribution,
    train_set_generator,
)
from lhcad.families.pointcloud.metrics import jetnet_scores, relative_jet_mass
from lhcad.models.trainer import TrainSettings

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _jets(n: int, p: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Jets of 3 to ``p`` particles in (eta_rel, phi_rel, pT_rel), pT ordered, zero padding."""
    rng = np.random.default_rng(seed)
    points = np.zeros((n, p, 3))
    mask = np.arange(p)[None, :] < rng.integers(3, p + 1, n)[:, None]
    points[..., :2] = rng.normal(0.0, 0.1, (n, p, 2))
    points[..., 2] = -np.sort(-rng.exponential(0.1, (n, p)), axis=1)
    return np.where(mask[..., None], points, 0.0), mask


def test_efps_equal_the_sum_over_all_particle_quadruples_of_their_graphs() -> None:
    points, mask = _jets(4, 5, 0)
    efps = jetnet_efps(points, mask)
    for jet in range(4):
        z = np.where(mask[jet], points[jet, :, 2], 0.0)
        delta = points[jet, :, None, :2] - points[jet, None, :, :2]
        theta = np.sqrt((delta**2).sum(-1))
        for g, graph in enumerate(EFP_GRAPHS):
            brute = sum(
                np.prod(z[list(q)]) * np.prod([theta[q[a], q[b]] for a, b in graph])
                for q in product(range(5), repeat=4)
            )
            assert efps[jet, g] == pytest.approx(brute, rel=1e-10)


def test_jetnet_scores_of_jets_with_doubled_pt_are_the_mass_and_fifteen_times_the_efps() -> None:
    points, mask = _jets(1, 6, 1)
    real = (np.repeat(points, 50, 0), np.repeat(mask, 50, 0))
    doubled = real[0].copy()
    doubled[..., 2] *= 2.0  # the mass doubles; a degree-4 EFP grows 16-fold
    scores = jetnet_scores(real, (doubled, real[1]), n_eval=20, n_batches=3)
    mass = relative_jet_mass(points, mask)[0]
    assert scores["w1m"] == pytest.approx(mass) and scores["w1m_std"] == pytest.approx(0.0)
    assert scores["w1efp"] == pytest.approx(15 * jetnet_efps(points, mask)[0].mean())
    assert scores["w1p_eta_rel"] == scores["w1p_phi_rel"] == 0.0
    assert scores["w1p_pt_rel"] == pytest.approx(points[0, mask[0], 2].mean())
    assert scores["w1p"] == pytest.approx(scores["w1p_pt_rel"] / 3)
    same = jetnet_scores(real, real, n_eval=20, n_batches=3)
    assert same["w1m"] == same["w1p"] == same["w1efp"] == 0.0 and same["n_eval"] == 20


def test_bootstrap_errors_shrink_with_the_number_of_jets_drawn() -> None:
    a, b = _jets(4000, 8, 2), _jets(4000, 8, 3)
    small = jetnet_scores(a, b, n_eval=100, n_batches=8, seed=0)
    large = jetnet_scores(a, b, n_eval=4000, n_batches=8, seed=0)
    assert large["w1m"] < small["w1m"] and large["w1m_std"] < small["w1m_std"]
    assert large["w1efp"] < small["w1efp"]


def test_velocity_is_permutation_equivariant_and_blind_to_padding() -> None:
    torch.manual_seed(0)
    model = SetFlow(SetFlowArchitecture(n_points=6, n_features=3, hidden=16, layers=2, heads=2))
    x, t = torch.randn(2, 6, 3), torch.tensor([0.3, 0.8])
    mask = torch.tensor([[True] * 4 + [False] * 2, [True] * 6])
    v = model(x, t, mask)
    assert (v[0, 4:] == 0).all()
    perm = torch.tensor([2, 0, 3, 1, 5, 4])
    torch.testing.assert_close(model(x[:, perm], t, mask[:, perm]), v[:, perm])
    garbage = x.clone()
    garbage[0, 4:] = 1e3
    torch.testing.assert_close(model(garbage, t, mask), v)
    assert (integrate(model, x, mask, steps=3)[0, 4:] == 0).all()


@pytest.mark.slow
def test_generator_learns_where_the_points_lie_and_keeps_the_multiplicities() -> None:
    rng = np.random.default_rng(4)
    n, p = 512, 5
    mask = np.arange(p)[None, :] < rng.choice([2, 4], n, p=[0.25, 0.75])[:, None]
    points = np.stack([rng.normal(3.0, 0.5, (n, p)), np.exp(rng.normal(-2.0, 0.3, (n, p)))], -1)
    points = np.where(mask[..., None], points, 0.0)
    np.testing.assert_allclose(multiplicity_distribution(mask)[[2, 4]].sum(), 1.0)
    arch = SetFlowArchitecture(n_points=p, n_features=2, hidden=16, layers=1, heads=2)
    settings = TrainSettings(epochs=25, batch_size=64, lr=3e-3, patience=None, device="cpu")
    trained, result = train_set_generator(
        arch, (points, mask), (points[:64], mask[:64]), settings, seed=0, steps=8, log_features=(1,)
    )
    assert result.history[-1]["val_loss"] < result.history[0]["val_loss"]
    gen_points, gen_mask = trained.generate(2000, seed=1)
    sizes = gen_mask.sum(1)
    assert set(np.unique(sizes)) == {2, 4} and (sizes == 4).mean() == pytest.approx(0.75, abs=0.04)
    valid = gen_points[gen_mask]
    assert valid[:, 0].mean() == pytest.approx(3.0, abs=0.15)
    assert np.log(valid[:, 1]).mean() == pytest.approx(-2.0, abs=0.15)
    assert (gen_points[~gen_mask] == 0).all()
    assert (np.diff(np.where(gen_mask, gen_points[..., 1], -1.0), axis=1) <= 0).all()
    again = TrainedSetGenerator.from_state(trained.state()).generate(10, seed=1)
    np.testing.assert_array_equal(again[0], trained.generate(10, seed=1)[0])


def test_generator_config_needs_heads_that_divide_the_width() -> None:
    assert PointCloudGeneratorConfig().kind == "flow_matching"
    with pytest.raises((ConfigError, ValueError), match="multiple of heads"):
        PointCloudGeneratorConfig(hidden=30, heads=4)
