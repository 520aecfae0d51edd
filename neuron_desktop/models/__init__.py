"""Neural network modules, their registry and the weights registry (no Qt)."""
