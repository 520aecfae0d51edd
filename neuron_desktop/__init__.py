"""Neuron Desktop: photo restoration (colorization, inpainting, style transfer)."""

__version__ = "0.2.0"
