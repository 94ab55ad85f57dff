"""Supervised binary classification of labelled images or table rows: the networks, the
labelled samples and their split, training with the fast single-model trainer (early stopping
on the validation AUC), the ROC with a bootstrap uncertainty, and the report."""
