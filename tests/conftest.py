"""Hypothesis profiles: ``ci`` is loaded by Hypothesis itself when CI is set.

``HYPOTHESIS_PROFILE=thorough`` runs many more examples (for nightly runs).
Nothing here overrides the ``ci`` profile.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "thorough",
    max_examples=2_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None)

if "CI" not in os.environ:
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
