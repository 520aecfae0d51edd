"""Held-out evaluations behind `neuron eval` (JSON + printed tables, contact sheets)."""
