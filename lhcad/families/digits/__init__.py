"""The digit studies of the reference study's parts 1 and 2: a Bernoulli mixture fitted by EM
(:mod:`lhcad.families.digits.bmm`) and a 2-D latent VAE, with their metrics, figures and report."""
