"""The ensemble trainer: members train independently, stop early, keep their best epochs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from lhcad.errors import LhcadError, StageError
from lhcad.models.ensemble import clip_member_gradients, train_ensemble
from lhcad.models.trainer import TrainSettings, resolve_device
from lhcad.models.vae import EnsembleVAE, VAEArchitecture
from tests.test_vae import gaussian_data

ARCH = VAEArchitecture(n_inputs=4)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_validation_loss_falls_during_training() -> None:
    x = gaussian_data(3000)
    result = train_ensemble(ARCH, TrainSettings(epochs=8, batch_size=128, patience=None), x[:2400], x[2400:], [1])
    val_loss = [entry["val_loss"][0] for entry in result.history]
    assert val_loss[-1] < 0.8 * val_loss[0]


@pytest.mark.parametrize(("optimizer", "lr"), [("adam", 1e-3), ("adamw", 1e-3), ("adadelta", 1.0)])
def test_vectorized_ensemble_matches_independently_trained_models(optimizer: str, lr: float) -> None:
    x = gaussian_data(1000, seed=1)
    arch = VAEArchitecture(n_inputs=4, hidden=(16, 8), recon_loss="gaussian_nll")
    # grad_clip 0.1 is far below the initial gradient norms (about 1): clipping acts at every step.
    settings = TrainSettings(epochs=3, batch_size=100, optimizer=optimizer, lr=lr, grad_clip=0.1, patience=None)
    together = train_ensemble(arch, settings, x[:800], x[800:], [1, 2, 3])
    for k, seed in enumerate([1, 2, 3]):
        alone = train_ensemble(arch, settings, x[:800], x[800:], [seed])
        for name, tensor in alone.model.member_state(0).items():
            torch.testing.assert_close(together.model.member_state(k)[name], tensor, atol=1e-5, rtol=0)


def test_gradient_clipping_sees_only_each_members_own_norm() -> None:
    model = EnsembleVAE(ARCH, [0, 1])
    for p in model.parameters():
        p.grad = torch.stack([torch.full(p.shape[1:], 1e-3), torch.full(p.shape[1:], 10.0)])
    small_before = [p.grad[0].clone() for p in model.parameters()]
    norms = clip_member_gradients(model, max_norm=1.0)
    assert norms[0] < 1.0 < norms[1]
    for p, before in zip(model.parameters(), small_before):
        assert torch.equal(p.grad[0], before)
    clipped = torch.stack([p.grad[1].pow(2).sum() for p in model.parameters()]).sum().sqrt()
    assert clipped.item() == pytest.approx(1.0, rel=1e-5)


def test_early_stopping_freezes_a_member_at_its_stopping_epoch() -> None:
    x = gaussian_data(600, seed=2)
    settings = TrainSettings(epochs=60, batch_size=600, lr=0.05, patience=2)
    result = train_ensemble(ARCH, settings, x[:500], x[500:], [0, 1])
    stops = result.stopped_epochs
    assert all(stop is not None for stop in stops)
    assert len(result.history) == max(stops) < 60
    first = int(np.argmin(stops))
    assert stops[first] < stops[1 - first], "the test needs one member to stop first"
    for k, stop in enumerate(stops):
        val_loss = [entry["val_loss"][k] for entry in result.history[:stop]]
        assert result.best_epochs[k] == int(np.argmin(val_loss)) + 1
        assert stop - result.best_epochs[k] == settings.patience
    # The member that stopped first holds what it would hold after training alone for `stop` epochs.
    seed = [0, 1][first]
    settings_alone = TrainSettings(epochs=stops[first], batch_size=600, lr=0.05, patience=None)
    alone = train_ensemble(ARCH, settings_alone, x[:500], x[500:], [seed])
    for name, tensor in alone.model.member_state(0).items():
        torch.testing.assert_close(result.model.member_state(first)[name], tensor, atol=1e-5, rtol=0)
        torch.testing.assert_close(result.last_states[first][name], tensor, atol=1e-5, rtol=0)


def test_the_criterion_picks_each_members_best_epoch() -> None:
    schedule = iter([[0.1, 0.5], [0.3, 0.2], [0.2, 0.4]])
    snapshots: list[list[dict[str, torch.Tensor]]] = []

    def snapshot(epoch: int, info: dict[str, Any]) -> None:
        snapshots.append([info["model"].member_state(k) for k in range(2)])

    x = gaussian_data(400, seed=3)
    result = train_ensemble(
        ARCH,
        TrainSettings(epochs=3, batch_size=100, patience=None),
        x[:300],
        x[300:],
        [0, 1],
        criterion=lambda model: np.array(next(schedule)),
        on_epoch=snapshot,
    )
    assert result.best_epochs == [2, 1]
    assert [entry["criterion"] for entry in result.history] == [[0.1, 0.5], [0.3, 0.2], [0.2, 0.4]]
    for k, epoch in enumerate(result.best_epochs):
        for name, tensor in snapshots[epoch - 1][k].items():
            assert torch.equal(result.best_states[k][name], tensor)
    assert result.events_per_second == pytest.approx(300 * 3 / result.seconds)


def test_cpu_and_auto_devices() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(LhcadError, match="unknown device 'tpu'"):
        resolve_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_a_one_line_error() -> None:
    with pytest.raises(LhcadError, match="no CUDA GPU is available"):
        train_ensemble(ARCH, TrainSettings(device="cuda"), gaussian_data(10), gaussian_data(10), [0])


def test_non_finite_inputs_are_rejected() -> None:
    x = gaussian_data(10)
    x[3, 1] = np.nan
    with pytest.raises(StageError, match="training events hold NaN"):
        train_ensemble(ARCH, TrainSettings(epochs=1), x, gaussian_data(10), [0])
