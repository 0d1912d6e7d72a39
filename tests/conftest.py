"""Shared fixtures. Data is small: the whole suite runs on 2 CPU cores in CI."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def hiv_cohort():
    """A small simulated HIV ART cohort (the built-in data), 200 patients x 60 months."""
    from hgym_core.demo import simulate_hiv_cohort

    return simulate_hiv_cohort(n_patients=200, seed=7)
