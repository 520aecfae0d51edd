"""Batch processing: recipes (TOML chains of steps) run over many photos, resumably.

``recipe`` parses and validates recipes, ``steps`` maps step names to pipeline calls,
``state`` keeps the job in SQLite beside the output, ``local`` runs worker processes on this
machine and ``ray_engine`` runs the same recipe on a Ray cluster (optional extra).
"""
