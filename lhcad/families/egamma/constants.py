"""Parameters of the e/gamma fast simulation, one named constant each, with its value's origin.

The geometry and material are those of the CMS barrel electromagnetic calorimeter (ECAL) and
tracker, rounded to what matters for 32 x 32 crystal images; the shower parametrisation is
GFlash's (G. Grindhammer, S. Peters, "The parameterized simulation of electromagnetic showers
in homogeneous and sampling calorimeters", hep-ex/0001020). Values quoted as "approximate" are
readings of published figures, good to some ten percent, not tuned to data.
"""

from __future__ import annotations

import math

# --- Crystal calorimeter --------------------------------------------------------------------

RADIATION_LENGTH_CM = 0.89
"""Radiation length X0 of PbWO4: 0.8903 cm (PDG, Atomic and nuclear properties of materials)."""

MOLIERE_RADIUS_CM = 2.19
"""Molière radius R_M of PbWO4 as the CMS ECAL uses it: 2.19 cm (CMS ECAL TDR, CERN/LHCC 97-33;
the PDG table's value from its own formula is 1.96 cm)."""

CRITICAL_ENERGY_GEV = 9.64e-3
"""Critical energy of electrons in PbWO4: 9.64 MeV (PDG, Rossi's definition)."""

EFFECTIVE_Z = 68.0
"""Effective atomic number of PbWO4 in GFlash's homogeneous-medium formulas (electron-weighted
mean of Pb, W and O; the formulas depend on it only through 2.38 / Z)."""

CRYSTAL_DEPTH_X0 = 25.8
"""Crystal length: 23 cm = 25.8 X0 (CMS ECAL barrel, JINST 3 S08004, 2008); deeper energy leaks."""

CRYSTAL_SIZE = 0.0174
"""Crystal granularity in eta and phi: 0.0174 x 0.0174 (2 pi / 360 crystals in phi; CMS ECAL
barrel)."""

ECAL_RADIUS_M = 1.29
"""Radius of the ECAL barrel's front face: 1.29 m (CMS, JINST 3 S08004)."""

OFF_POINTING_DEG = 3.0
"""The barrel crystals' axes point 3 degrees away from the nominal vertex in eta and phi (CMS,
JINST 3 S08004), so a shower's depth shifts its energy sideways by depth x tan(3 deg)."""

# --- Tracker and field ----------------------------------------------------------------------

FIELD_TESLA = 3.8
"""Solenoid field of CMS: 3.8 T, along the beam, so charged particles bend in phi only."""

TRACKER_INNER_RADIUS_M = 0.044
"""First pixel layer of the CMS tracker (Run 1): 4.4 cm; material starts here."""

TRACKER_OUTER_RADIUS_M = 1.10
"""Outer radius of the CMS tracker: about 1.1 m; between it and the ECAL there is no material."""

MATERIAL_ETA = (0.0, 0.4, 0.8, 1.2, 1.5)
"""|eta| nodes of the tracker material budget (linear interpolation between them)."""

MATERIAL_X0 = (0.40, 0.45, 0.65, 1.20, 1.60)
"""Material in front of the ECAL in radiation lengths at :data:`MATERIAL_ETA`: an approximate
reading of the CMS tracker material-budget figure (JINST 3 S08004, section 3; about 0.4 X0 at
eta = 0 rising to about 1.6 X0 at the barrel's end). Spread uniformly in radius in the model
(the real material sits in layers)."""

PAIR_PRODUCTION_PER_X0 = 7.0 / 9.0
"""A high-energy photon converts with probability 1 - exp(-7/9 t) in t radiation lengths
(PDG, Passage of particles through matter)."""

GEV_PER_TESLA_METRE = 0.3
"""p_T [GeV] = 0.3 B [T] rho [m]: the bending radius of a unit charge (0.2998)."""

MATERIAL_STEPS = 12
"""Radial steps through the tracker material: each step's bremsstrahlung leaves as one photon
tangent to the electron's path there."""

FREE_FLIGHT_STEPS = 4
"""Radial steps of a charged particle from the tracker's outer radius to the ECAL."""

BENDING_SUBSTEPS = 8
"""Integration substeps of the track's bending per radial step (the midpoint rule then puts a
track's azimuth at the ECAL within 1% of the exact circle's)."""

MIN_RADIAL_COSINE = 0.3
"""A charged track whose direction makes an angle with the radial direction whose cosine falls
below this is curling up in the field (p_T below about 0.7 GeV at the ECAL radius): its energy
never reaches the ECAL."""

# --- Longitudinal shower profile (GFlash, homogeneous media) --------------------------------

GFLASH_LOG_T = (-0.858,)
"""<ln T> = ln(ln y + c) with y = E / E_c and c = -0.858: the depth of the shower maximum in X0."""

GFLASH_LOG_ALPHA = (0.21, 0.492, 2.38)
"""<ln alpha> = ln(a + (b + c / Z) ln y): the shape of the Gamma-distributed depth profile."""

GFLASH_SIGMA_LOG_T = (-1.4, 1.26)
"""sigma(ln T) = 1 / (a + b ln y): shower-to-shower fluctuation of the depth of the maximum."""

GFLASH_SIGMA_LOG_ALPHA = (-0.58, 0.86)
"""sigma(ln alpha) = 1 / (a + b ln y)."""

GFLASH_CORRELATION = (0.705, -0.023)
"""Correlation of ln T and ln alpha: rho = a + b ln y."""

GFLASH_MIN_LOG_Y = 3.0
"""The fluctuation formulas diverge for soft showers: ln y is taken at least this (E >= 0.2 GeV)
when the profile of a softer shower is drawn (it barely matters: soft showers are shallow)."""

PHOTON_MEAN_FREE_PATH_X0 = 9.0 / 7.0
"""A photon's shower starts at an exponentially distributed depth of mean 9/7 X0 (its
conversion); an electron's starts at the crystal's face."""

# --- Lateral shower profile -----------------------------------------------------------------

CORE_FRACTION = 0.8
"""Energy fraction in the narrow core of the two-component lateral profile
f(r) = p 2 r Rc^2 / (r^2 + Rc^2)^2 + (1 - p) 2 r Rt^2 / (r^2 + Rt^2)^2 (GFlash's radial form,
here depth-averaged)."""

CORE_RADIUS_RM = 0.15
"""Core radius Rc in Molière radii (GFlash's core radius near the shower maximum)."""

TAIL_RADIUS_RM = 0.836
"""Tail radius Rt in Molière radii, chosen so that 90% of the energy lies within one R_M
(the Molière radius's definition) and about 99% within 3.5 R_M."""

SPOTS_PER_SHOWER = 400
"""Energy spots per particle shower (split among its sub-showers by energy): their sampling is
the shower-to-shower fluctuation of the lateral shape."""

# --- Response -------------------------------------------------------------------------------

STOCHASTIC_TERM = 0.028
"""Energy resolution's stochastic term, 2.8% / sqrt(E/GeV) (CMS ECAL test beam, JINST 2 P04004)."""

CONSTANT_TERM = 0.003
"""Energy resolution's constant term, 0.3% (the same test beam)."""

NOISE_GEV = 0.04
"""Electronic noise per barrel crystal: about 40 MeV (CMS ECAL performance, JINST 8 P09009)."""

READOUT_THRESHOLD_GEV = 0.1
"""Crystals below this energy (2.5 sigma of noise) read zero: lhcad's simple zero suppression,
not CMS's selective readout."""

TIME_NOISE_TERM_NS = 35.0
"""Time resolution sigma_t = N sigma_noise / E (+) C with N = 35 ns (CMS ECAL timing, JINST 5
(2010) P03011)."""

TIME_CONSTANT_TERM_NS = 0.2
"""Time resolution's constant term, about 0.2 ns (order of magnitude of the in-situ value of
the same paper)."""

TIME_WINDOW_NS = 12.5
"""Reconstructed times are clipped to +- half a bunch-crossing period."""

# --- Particle gun and images ----------------------------------------------------------------

IMAGE_SIZE = 32
"""Images of 32 x 32 crystals (rows: eta, columns: phi), centred on the most energetic crystal,
which sits at row and column 16 (the CMS e/gamma open-data layout)."""

GRID_SIZE = 64
"""Side of the crystal grid the energy is first deposited into, around the primary's direction
(the image is cut out of it)."""

LABELS: dict[str, int] = {"electron": 1, "photon": 0}
"""Class labels written to ``y``: electrons 1, photons 0 (the CMS files' convention)."""

CM_PER_CRYSTAL = ECAL_RADIUS_M * 100.0 * CRYSTAL_SIZE
"""Width of a crystal at the front face in cm (2.24 cm). A displacement d perpendicular to a
projective shower's axis is d / R in eta and in phi, so one crystal is this many cm in both."""

TAN_OFF_POINTING = math.tan(math.radians(OFF_POINTING_DEG))
"""tan of :data:`OFF_POINTING_DEG`."""
