"""The package's front door: the names SDV users reach for import from ``hgym_core`` itself."""

from __future__ import annotations

import subprocess
import sys


def test_the_public_names_import_from_the_package():
    from hgym_core import (HGymError, Schema, Synthesizer, TrainConfig, evaluate, hiv_schema, preset,
                           simulate_hiv_cohort)

    cohort = simulate_hiv_cohort(n_patients=20, seed=1)
    schema = hiv_schema(cohort)
    assert isinstance(schema, Schema) and schema.id_column == "PatientID"
    assert isinstance(preset("quick"), TrainConfig)
    assert callable(evaluate) and callable(Synthesizer.load) and issubclass(HGymError, Exception)


def test_importing_the_package_loads_no_torch_until_a_name_needs_it():
    """The training process and ``python -m hgym_core --help`` start without paying for torch."""
    code = "import sys, hgym_core; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_an_unknown_name_is_an_attribute_error():
    import hgym_core

    try:
        hgym_core.Synthesiser   # noqa: B018 - a typo
    except AttributeError as problem:
        assert "Synthesiser" in str(problem)
    else:
        raise AssertionError("a typo must not import anything")
