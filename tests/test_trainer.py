"""The single-model trainer: it learns, it is reproducible, and it refuses unusable data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lhcad.errors import StageError
from lhcad.models.trainer import EarlyStopping, TrainSettings, train_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SETTINGS = TrainSettings(epochs=40, batch_size=64, lr=0.05, patience=None)


def regression_task(seed: int = 0, n: int = 800) -> tuple[np.ndarray, np.ndarray]:
    """y = x @ w + 0.01 noise: the trainer must find w."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    return x, x @ np.array([1.0, -2.0, 0.5], dtype=np.float32) + 0.01 * rng.normal(size=n).astype(np.float32)


def squared_error(model: nn.Module, batch: tuple[torch.Tensor, ...], _: torch.Generator) -> torch.Tensor:
    x, y = batch
    return (model(x).squeeze(-1) - y) ** 2


def fitted(seed: int = 0, **kwargs: object) -> tuple[nn.Module, object]:
    torch.manual_seed(0)
    x, y = regression_task()
    result = train_model(nn.Linear(3, 1), squared_error, (x[:600], y[:600]), (x[600:], y[600:]), SETTINGS,
                         seed, **kwargs)  # type: ignore[arg-type]
    return result.model, result


def test_recovers_linear_weights_and_the_validation_loss_falls() -> None:
    model, result = fitted()
    np.testing.assert_allclose(model.weight.detach().numpy().ravel(), [1.0, -2.0, 0.5], atol=0.01)
    assert result.history[-1]["val_loss"] < 1e-3 < result.history[0]["val_loss"]


def test_same_seed_same_weights() -> None:
    first, _ = fitted(seed=3)
    second, _ = fitted(seed=3)
    assert torch.equal(first.weight, second.weight)


def test_returns_the_weights_of_the_best_criterion_epoch() -> None:
    epochs: list[float] = []

    def weight_of_first_input(model: nn.Module) -> float:
        """A criterion that prefers the first epoch's weights: the model must come back with them."""
        value = -len(epochs)
        epochs.append(float(model.weight[0, 0]))
        return value

    model, result = fitted(criterion=weight_of_first_input)
    assert result.best_epoch == 1
    assert float(model.weight[0, 0].detach()) == pytest.approx(epochs[0])


def test_non_finite_training_data_are_refused() -> None:
    x, y = regression_task()
    x[5, 1] = np.nan
    with pytest.raises(StageError, match="NaN"):
        train_model(nn.Linear(3, 1), squared_error, (x, y), (x, y), SETTINGS, 0)


def test_early_stopping_needs_more_than_min_delta() -> None:
    stopping = EarlyStopping(patience=2, min_delta=0.1)
    assert stopping.update(1.0) == (True, False)
    assert stopping.update(0.95) == (False, False)  # not better by more than 0.1
    assert stopping.update(0.5) == (True, False)
    assert stopping.update(0.45) == (False, False)
    assert stopping.update(0.44) == (False, True)


def test_batches_from_a_data_loader_without_validation_keep_the_last_epoch() -> None:
    from torch.utils.data import DataLoader, TensorDataset

    x, y = regression_task()
    torch.manual_seed(0)
    loader = DataLoader(TensorDataset(torch.as_tensor(x), torch.as_tensor(y)), batch_size=64, shuffle=True)
    result = train_model(nn.Linear(3, 1), squared_error, loader, None, SETTINGS, 0)
    assert len(result.history) == SETTINGS.epochs and result.stopped_epoch is None
    assert "val_loss" not in result.history[-1]
    np.testing.assert_allclose(result.model.weight.detach().numpy().ravel(), [1.0, -2.0, 0.5], atol=0.01)


def test_a_validation_function_stops_training() -> None:
    x, y = regression_task()
    settings = TrainSettings(epochs=40, batch_size=64, lr=0.05, patience=3)
    result = train_model(nn.Linear(3, 1), squared_error, (x, y), lambda model: 1.0, settings, 0)
    assert result.best_epoch == 1 and result.stopped_epoch == 4
