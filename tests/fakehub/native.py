"""Builders of the families native to transformers or multimolecule (no remote code)."""
