"""One family of user-facing errors; each message names the file and the problem.

Every error carries the process exit code the `neuron` command returns for it (see
docs/reliability.md); ``describe_failure`` turns any exception into (message, exit code) so
that no traceback ever reaches a user.
"""

from __future__ import annotations

import errno

EXIT_OK = 0
EXIT_ERROR = 1  # a file could not be read, processed or written (in a batch: any file)
EXIT_USAGE = 2  # bad command line (argparse)
EXIT_REFUSED = 3  # refused before any work: an output would write over an input or clash
EXIT_TOO_LARGE = 4  # an image over the size limit, or out of memory on every device
EXIT_INTERNAL = 70  # a bug: an unexpected exception (message, no traceback)
EXIT_CANCELLED = 130  # Ctrl+C or cancelled


class NeuronError(Exception):
    """Base class for errors shown to users (CLI exits non-zero, GUI shows a dialog)."""

    exit_code = EXIT_ERROR


class ImageLoadError(NeuronError):
    """An image could not be read: missing, empty, corrupt, truncated, too large, not an image."""


class ImageTooLargeError(ImageLoadError):
    """An image's header says it is over the pixel limit (refused before decoding)."""

    exit_code = EXIT_TOO_LARGE


class ImageSaveError(NeuronError):
    """An image could not be written (or writing would overwrite the original)."""


class OutputClashError(NeuronError):
    """An output would write over an input of the run or over another output."""

    exit_code = EXIT_REFUSED


class MaskError(NeuronError):
    """A mask is unusable: wrong size, empty, unreadable."""


class WeightsError(NeuronError):
    """Model weights are missing, unknown, corrupt (sha256 mismatch) or in an unsafe format."""


_OOM_MARKERS = ("out of memory", "cudnn_status_alloc_failed", "cublas_status_alloc_failed",
                "can't allocate memory", "cannot allocate memory")  # the last two: CPU


def is_out_of_memory(exc: BaseException) -> bool:
    """True for torch.OutOfMemoryError, MemoryError, or a RuntimeError reporting CUDA/MPS
    out-of-memory or a failed CPU allocation ("DefaultCPUAllocator: can't allocate memory")."""
    import torch

    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)):
        return True
    return isinstance(exc, RuntimeError) and any(m in str(exc).lower() for m in _OOM_MARKERS)


def describe_failure(exc: BaseException) -> tuple[str, int]:
    """(one-line message, exit code) for any exception raised while running a command.

    NeuronError keeps its message and code; out-of-memory (CUDA, MPS or a failed CPU
    allocation) and OS errors get a plain sentence; anything else is reported as an internal
    error (a bug) without a traceback.
    """
    if isinstance(exc, NeuronError):
        return str(exc), exc.exit_code
    if isinstance(exc, MemoryError) or is_out_of_memory(exc):
        return ("out of memory on every device and tile size tried; close other programs, "
                "use a smaller image or lower --max-megapixels"), EXIT_TOO_LARGE
    if type(exc).__name__ == "UnpicklingError":  # torch.load(weights_only=True) refused
        return ("refused to load a checkpoint: it holds Python objects other than tensors, "
                "which could run arbitrary code; re-save it as a plain state dict or as "
                ".safetensors"), EXIT_ERROR
    if isinstance(exc, OSError):
        where = f" '{exc.filename}'" if exc.filename else ""
        if exc.errno == errno.ENAMETOOLONG:
            return (f"cannot use{where}: a file or folder name in it is too long (at most "
                    "255 bytes)"), EXIT_ERROR
        if exc.errno == errno.ENOSPC:
            return f"cannot write{where}: the disk is full", EXIT_ERROR
        return f"cannot access{where}: {exc.strerror or exc}", EXIT_ERROR
    return (f"internal error ({type(exc).__name__}: {exc}); please report it "
            "(set NEURON_DEBUG=1 for the traceback)"), EXIT_INTERNAL
