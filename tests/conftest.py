import os

from hypothesis import settings

# gradient checks are cheap per example but there are many ops: keep each property short
settings.register_profile("default", max_examples=25, deadline=None)
settings.register_profile("thorough", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
