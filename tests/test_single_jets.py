"""Single labelled jets from Pythia + FastJet (needs the gen extra)."""

from __future__ import annotations

import numpy as np
import pytest

from lhcad.gen import GeneratorError
from lhcad.gen.single_jets import JET_TYPES, JetSample, generate_jets, generate_single_jets
from tests.conftest import cli_options

pytestmark = pytest.mark.gen


def constituent_four_momentum(sample: JetSample) -> np.ndarray:
    """Sum of the (massless) constituents of each jet: px, py, pz, E."""
    pt, eta, phi = (sample.particles[..., i].astype(np.float64) for i in range(3))
    p4 = np.stack(
        [pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta)], axis=-1
    )
    return p4.sum(axis=1)


@pytest.fixture(scope="module")
def gen_extra() -> None:
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")


@pytest.mark.slow
@pytest.mark.usefixtures("gen_extra")
def test_top_jets_are_their_constituents_and_weigh_a_top() -> None:
    sample = generate_single_jets("t", 40, (500.0, 700.0), seed=3, max_particles=200)
    assert sample.particles.shape == (40, 200, 4) and sample.particles.dtype == np.float32
    assert np.all(sample.labels == JET_TYPES.index("t"))
    pt, eta, phi, mass = sample.jets.T
    assert np.all((pt >= 500) & (pt < 700) & (np.abs(eta) < 2))
    p4 = constituent_four_momentum(sample)
    # constituents are nearly massless: their sum carries the jet's pT and direction
    np.testing.assert_allclose(np.hypot(p4[:, 0], p4[:, 1]), pt, rtol=0.01)
    np.testing.assert_allclose(np.arctan2(p4[:, 1], p4[:, 0]), phi, atol=0.01)
    # the hadronic top peaks near 173 GeV
    assert 140 < np.median(mass) < 190
    real = sample.particles[..., 0] > 0
    assert np.all(np.diff(sample.particles[..., 0], axis=1) <= 0)  # pT descending, padding last
    assert set(np.unique(sample.particles[..., 3][real])) <= {1.0, 2.0, 3.0}
    assert np.all(sample.particles[..., 3][~real] == 0)
    assert np.all((sample.particles[..., 2] > -np.pi) & (sample.particles[..., 2] <= np.pi))


@pytest.mark.slow
@pytest.mark.usefixtures("gen_extra")
def test_quark_and_gluon_jets_are_labelled_and_gluons_have_more_constituents() -> None:
    sample = generate_jets(("q", "g"), 60, (80.0, 120.0), seed=2)
    assert np.bincount(sample.labels, minlength=2)[:2].tolist() == [60, 60]
    multiplicity = (sample.particles[..., 0] > 0).sum(axis=1)
    quark, gluon = sample.labels == 0, sample.labels == 1
    assert multiplicity[gluon].mean() > 1.2 * multiplicity[quark].mean()


def test_bad_requests_are_generator_errors() -> None:
    with pytest.raises(GeneratorError, match="unknown jet type"):
        generate_single_jets("b", 10, (80.0, 120.0))
    pytest.importorskip("pythia8mc")
    with pytest.raises(GeneratorError, match="pT range"):
        generate_single_jets("q", 10, (120.0, 80.0))
    with pytest.raises(GeneratorError, match="only q and g"):
        generate_jets(("t", "w"), 10, (500.0, 700.0))


@pytest.mark.slow
@pytest.mark.usefixtures("gen_extra")
def test_generate_images_writes_w_jets_in_the_cms_layout(tmp_path) -> None:
    from click.testing import CliRunner

    from lhcad.cli.gen import generate_command
    from lhcad.families.jet_images.hdf5 import read_image_file

    out = tmp_path / "w.h5"
    args = cli_options(process="w", images=True, n=12, pt_range=(400, 600), out=out)
    result = CliRunner().invoke(generate_command, args)
    assert result.exit_code == 0, result.output
    jets = read_image_file(out)
    assert len(jets) == 12 and np.all(jets.jet_type == JET_TYPES.index("w")) and not jets.y.any()
    assert np.all((jets.pt >= 400) & (jets.pt < 600))
    assert 60 < np.median(jets.m0) < 100  # hadronic W
    # the image holds the jet's constituents: Tracks pT plus calorimeter E is at least the jet pT
    total = jets.images[..., 0].sum(axis=(1, 2)) + jets.images[..., 1:].sum(axis=(1, 2, 3))
    assert np.all(total > 0.9 * jets.pt)
