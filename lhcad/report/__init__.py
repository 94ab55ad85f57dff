"""What every family's report is made of: the static HTML page (:mod:`lhcad.report.html`), its
cells, figures and closing sections (:mod:`lhcad.report.parts`), and a search's result in words
(:mod:`lhcad.report.summary`). A family's report itself lives with the family
(``lhcad/families/<family>/report.py``)."""
