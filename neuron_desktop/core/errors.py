"""One family of user-facing errors; each message names the file and the problem."""


class NeuronError(Exception):
    """Base class for errors shown to users (CLI exits non-zero, GUI shows a dialog)."""


class ImageLoadError(NeuronError):
    """An image could not be read: missing, empty, corrupt, truncated, too large, not an image."""


class ImageSaveError(NeuronError):
    """An image could not be written (or writing would overwrite the original)."""


class MaskError(NeuronError):
    """A mask is unusable: wrong size, empty, unreadable."""


class WeightsError(NeuronError):
    """Model weights are missing, unknown, corrupt (sha256 mismatch) or in an unsafe format."""
