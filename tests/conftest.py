import os
import sys

import pytest
from hypothesis import settings

# gradient checks are cheap per example but there are many ops: keep each property short
settings.register_profile("default", max_examples=25, deadline=None)
settings.register_profile("thorough", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_addoption(parser):
    parser.addoption("--device", default="cpu",
                     help="run the suite with new tensors on this device: cpu or cuda")
    parser.addoption("--without-torch", action="store_true",
                     help="run as if PyTorch were not installed (every test that needs it skips)")


def pytest_configure(config):
    if config.getoption("--without-torch"):
        sys.modules["torch"] = None  # `import torch` now raises ImportError
    device = config.getoption("--device")
    if device != "cpu":
        import tinygrad_seq as ts
        try:
            ts.set_default_device(device)
        except (RuntimeError, ValueError) as e:  # say why there is no GPU, in one line
            raise pytest.UsageError(str(e)) from None


@pytest.fixture
def cuda():
    """Skips the test (with the reason) where no GPU can be used; yields the cupy module."""
    import tinygrad_seq as ts
    reason = ts.cuda.why_not()
    if reason is not None:
        pytest.skip(reason)
    from tinygrad_seq import backend
    return backend.load_cupy()
