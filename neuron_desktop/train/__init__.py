"""Training loops, reproducible from a recipe."""
