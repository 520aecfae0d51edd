"""Qt-free imaging core: I/O, colour, guided filter, metrics, tiling, devices, progress."""
