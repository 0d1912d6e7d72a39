"""A synthetic table whose key columns collapsed to one value scores as what it is, and says so."""

from __future__ import annotations

import numpy as np
import pytest

from hgym_core.data.demo import hiv_schema, simulate_hiv_cohort
from hgym_core.evaluation import EvaluationSettings, collapsed_variables, evaluate

STRUCTURE = EvaluationSettings(groups=("marginals", "relationships", "temporal"))
COLLAPSED = {"Gender": "Male", "Ethnic": "Other", "Base Drug Combo": "FTC + TDF"}


@pytest.fixture(scope="module")
def tables(hiv_cohort):
    """(real, synthetic, holdout): the synthetic patients are other simulated patients, all Male / Other / FTC + TDF."""
    synthetic = simulate_hiv_cohort(n_patients=200, seed=9).assign(**COLLAPSED)
    return hiv_cohort, synthetic, simulate_hiv_cohort(n_patients=200, seed=8)


def test_collapsed_columns_make_correlation_similarity_poor_and_the_notes_name_them(tables):
    real, synthetic, holdout = tables
    report = evaluate(real, synthetic, hiv_schema(real), holdout=holdout, settings=STRUCTURE)
    overall = report.score("correlation similarity")
    # Scored as "no association" (ρ = 0), these pairs cost little: real correlations with Gender
    # are near 0 anyway, and the score stayed at 0.97. A lost correlation counts as |Δρ| = 1.
    assert overall.value < 0.8 and overall.verdict == "poor"
    for name in COLLAPSED:
        assert report.score("variable correlation similarity", name).value == pytest.approx(0.5)
        assert report.score("variable correlation similarity", name).verdict == "poor"
    assert report.score("variable correlation similarity", "CD4").value < 0.9     # its pairs with them count too
    assert report.details["relationships"]["correlation"]["lost"] == list(COLLAPSED)
    note = next(n for n in report.notes if n.startswith("Correlation similarity:"))
    assert "Gender, Ethnic, Base Drug Combo have one value in every synthetic row" in note
    assert "|ρ_real − ρ_syn| = 1" in note
    collapse = next(n for n in report.notes if n.startswith("Collapsed in the synthetic data:"))
    assert "Ethnic: 100% of synthetic rows are 'Other'" in collapse and "Base Drug Combo" in collapse
    # The honest generator (same simulator, nothing collapsed) keeps a good score and no such note.
    fresh = evaluate(real, holdout, hiv_schema(real), settings=STRUCTURE)
    assert fresh.score("correlation similarity").value > 0.95
    assert not any(n.startswith(("Correlation similarity:", "Collapsed")) for n in fresh.notes)


def test_collapsed_variables_by_share_and_by_spread(tables):
    real, synthetic, _ = tables
    schema = hiv_schema(real)
    found = {c.variable: c.description for c in collapsed_variables(real, synthetic, schema)}
    # Gender is no collapse by the rule: 86% of the real rows are Male already (>= 80%).
    assert (real["Gender"] == "Male").mean() >= 0.8 and list(found) == ["Ethnic", "Base Drug Combo"]
    real_other = (real["Ethnic"] == "Other").mean()
    assert found["Ethnic"] == f"100% of synthetic rows are 'Other' (real {real_other:.0%})"
    squeezed = real.copy()
    squeezed["CD4"] = real["CD4"].mean() + 0.05 * (real["CD4"] - real["CD4"].mean())    # SD at 5% of the real SD
    common = real.copy()
    common.loc[common.index[: int(0.96 * len(common))], "Extra pk-En"] = False             # already ~95% False
    found = {c.variable: c.description for c in collapsed_variables(real, squeezed, schema)}
    assert list(found) == ["CD4"] and "is 5% of the real SD" in found["CD4"]
    real_false = (real["Extra pk-En"] == False).mean()  # noqa: E712 - a column of booleans
    assert real_false >= 0.8 and collapsed_variables(real, common, schema) == []   # common in real too: no collapse
    assert collapsed_variables(real, real.sample(frac=1.0, random_state=0), schema) == []
    flat = real.assign(CD4=np.nan)
    assert [str(c) for c in collapsed_variables(real, flat, schema)] == ["CD4: no synthetic row has a value"]
