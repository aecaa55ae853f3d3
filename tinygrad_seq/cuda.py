"""``ts.cuda``: whether a GPU can be used, and waiting for it. Asking never imports CuPy when
it is not installed, and never fails: ``is_available()`` answers False with the reason kept in
``why_not()``. The answers come from backend.py, the one place that knows about CuPy."""

from __future__ import annotations

from . import backend


def why_not() -> str | None:
    """None when a CUDA device can be used, else what is missing and how to fix it."""
    return backend.gpu_problem()


def is_available() -> bool:
    return why_not() is None


def device_count() -> int:
    return backend.load_cupy().cuda.runtime.getDeviceCount() if is_available() else 0


def synchronize() -> None:
    """Wait until the GPU has finished the work queued so far (for timing)."""
    if is_available():
        backend.load_cupy().cuda.Stream.null.synchronize()
