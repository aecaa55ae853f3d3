"""``ts.cuda``: whether a GPU can be used, and waiting for it. Asking never imports CuPy when
it is not installed, and never fails: ``is_available()`` answers False with the reason kept in
``why_not()``."""

from __future__ import annotations

from . import backend


def why_not() -> str | None:
    """None when a CUDA device can be used, else what is missing and how to fix it."""
    try:
        cupy = backend._load_cupy()
    except RuntimeError as e:
        return str(e)
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # noqa: BLE001  (CuPy raises several kinds when no driver is found)
        return f"CuPy is installed but found no usable CUDA device or driver: {e}"
    return None if count > 0 else "CuPy is installed but there is no CUDA device"


def is_available() -> bool:
    return why_not() is None


def device_count() -> int:
    return backend._load_cupy().cuda.runtime.getDeviceCount() if is_available() else 0


def synchronize() -> None:
    """Wait until the GPU has finished the work queued so far (for timing)."""
    if is_available():
        backend._load_cupy().cuda.Stream.null.synchronize()
