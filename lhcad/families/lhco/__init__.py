"""The LHCO resonance search (``kind: lhco``): its config model (:mod:`~lhcad.families.lhco.config`),
its stages (:mod:`~lhcad.families.lhco.stages`) and what they hand on
(:mod:`~lhcad.families.lhco.artifacts`), the scorers ``score.method`` chooses from
(:mod:`~lhcad.families.lhco.scorers`) and its report (:mod:`~lhcad.families.lhco.report`)."""
