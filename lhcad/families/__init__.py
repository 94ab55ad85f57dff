"""The analysis families lhcad runs besides the LHCO resonance search, one folder each: its
config model, its stages, its report and the code only it needs."""
