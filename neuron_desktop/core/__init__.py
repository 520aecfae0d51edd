"""Qt-free imaging core: I/O, colour, guided filter, metrics, devices, progress."""
