"""The masked, batched Chamfer distance and the reference study's three reconstruction losses."""

from __future__ import annotations

import pytest
import torch

from lhcad.families.pointcloud.chamfer import chamfer_distance, chamfer_loss

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# X = {(0,0), (2,0), (0,1)}, Y = {(1,0), (0,3), (3,3)}: squared distances
#            (1,0) (0,3) (3,3)
#   (0,0)      1     9    18
#   (2,0)      1    13    10
#   (0,1)      2     4    13
# X -> Y: 1 + 1 + 2 = 4; Y -> X (column minima): 1 + 4 + 10 = 15; Chamfer = 19.
X = torch.tensor([[[0.0, 0.0], [2.0, 0.0], [0.0, 1.0]]])
Y = torch.tensor([[[1.0, 0.0], [0.0, 3.0], [3.0, 3.0]]])


def test_hand_computed_three_point_case() -> None:
    assert chamfer_distance(X, Y).item() == pytest.approx(19.0)
    assert chamfer_distance(Y, X).item() == pytest.approx(19.0)


def test_zero_for_identical_sets_with_finite_gradients() -> None:
    x = torch.randn(4, 7, 3, requires_grad=True)
    distance = chamfer_distance(x, x.detach().clone())
    assert torch.equal(distance, torch.zeros(4))
    distance.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_invariant_under_permutations_of_either_set() -> None:
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(5, 9, 3, generator=gen), torch.randn(5, 6, 3, generator=gen)
    reference = chamfer_distance(x, y)
    px, py = torch.randperm(9, generator=gen), torch.randperm(6, generator=gen)
    torch.testing.assert_close(chamfer_distance(x[:, px], y), reference)
    torch.testing.assert_close(chamfer_distance(x, y[:, py]), reference)
    torch.testing.assert_close(chamfer_distance(x[:, px], y[:, py]), reference)


def test_padded_points_do_not_change_the_distance_nor_get_gradients() -> None:
    pad = torch.tensor([[[0.0, 0.0], [50.0, -7.0]]])  # a zero "ghost" and an arbitrary one
    x = torch.cat([X, pad], dim=1).requires_grad_(True)
    y = torch.cat([Y, pad.flip(1)], dim=1)
    mask = torch.tensor([[True, True, True, False, False]])
    distance = chamfer_distance(x, y, mask, mask)
    assert distance.item() == pytest.approx(19.0)
    distance.backward()
    assert torch.equal(x.grad[0, 3:], torch.zeros(2, 2))
    # without the masks the zero ghost at the origin would change the value
    assert chamfer_distance(x, y).item() != pytest.approx(19.0)


def test_batched_sets_of_different_sizes_match_one_at_a_time() -> None:
    gen = torch.Generator().manual_seed(2)
    x, y = torch.randn(3, 8, 2, generator=gen), torch.randn(3, 8, 2, generator=gen)
    counts_x, counts_y = [8, 3, 5], [2, 8, 6]
    mask_x = torch.arange(8) < torch.tensor(counts_x)[:, None]
    mask_y = torch.arange(8) < torch.tensor(counts_y)[:, None]
    batched = chamfer_distance(x, y, mask_x, mask_y)
    for b, (nx, ny) in enumerate(zip(counts_x, counts_y, strict=True)):
        assert batched[b].item() == pytest.approx(
            chamfer_distance(x[b : b + 1, :nx], y[b : b + 1, :ny]).item(), rel=1e-6
        )


def test_positions_loss_ignores_intensity_and_joint_uses_it() -> None:
    x = torch.cat([X, torch.tensor([[[1.0], [2.0], [3.0]]])], dim=2)
    y = torch.cat([Y, torch.tensor([[[0.0], [0.0], [0.0]]])], dim=2)
    assert chamfer_loss(x, y, kind="positions").item() == pytest.approx(19.0)
    # the same points with equal intensities: joint = positions
    assert chamfer_loss(x, x + torch.tensor([0.5, 0.0, 0.0]), kind="joint").item() == pytest.approx(
        6 * 0.25
    )
    assert chamfer_loss(x, y, kind="joint").item() > 19.0


def test_nearest_intensity_loss_is_the_seeds_equation_2() -> None:
    # intensities I = (1, 2, 3) on X and (0.5, 2, 4) on Y; nearest in position:
    # X -> Y: every point of X is nearest to (1,0) [I = 0.5]: 0.25 + 2.25 + 6.25 = 8.75
    # Y -> X: (1,0) ties between (0,0) and (2,0) -- moved to (0.9, 0) to pick (0,0) [I = 1];
    #         (0,3) -> (0,1) [I = 3]; (3,3) -> (2,0) [I = 2]:  (1-0.5)^2 + (3-2)^2 + (2-4)^2 = 5.25
    y_pos = torch.tensor([[[0.9, 0.0], [0.0, 3.0], [3.0, 3.0]]])
    x = torch.cat([X, torch.tensor([[[1.0], [2.0], [3.0]]])], dim=2)
    y = torch.cat([y_pos, torch.tensor([[[0.5], [2.0], [4.0]]])], dim=2)
    positions = chamfer_distance(X, y_pos).item()
    # position part: X -> Y: 0.81 + 1.21 + 1.81 = 3.83; Y -> X: 0.81 + 4 + 10 = 14.81
    assert positions == pytest.approx(18.64)
    loss = chamfer_loss(x, y, kind="positions_nearest_intensity").item()
    assert loss == pytest.approx(18.64 + 8.75 + 5.25)


def test_nearest_intensity_loss_masks_padding() -> None:
    x = torch.cat([X, torch.tensor([[[1.0], [2.0], [3.0]]])], dim=2)
    y = torch.cat([Y, torch.tensor([[[0.5], [2.0], [4.0]]])], dim=2)
    padded_y = torch.cat([y, torch.tensor([[[0.0, 0.0, 99.0]]])], dim=1)
    mask = torch.tensor([[True, True, True, False]])
    expected = chamfer_loss(x, y, kind="positions_nearest_intensity")
    torch.testing.assert_close(
        chamfer_loss(x, padded_y, None, mask, kind="positions_nearest_intensity"), expected
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_gives_the_cpu_value() -> None:
    gen = torch.Generator().manual_seed(3)
    x, y = torch.randn(16, 30, 3, generator=gen), torch.randn(16, 30, 3, generator=gen)
    mask = torch.rand(16, 30, generator=gen) > 0.2
    cpu = chamfer_distance(x, y, mask, mask)
    torch.testing.assert_close(
        chamfer_distance(x.cuda(), y.cuda(), mask.cuda(), mask.cuda()).cpu(), cpu
    )
