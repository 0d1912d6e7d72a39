"""A seeded simulator of people with HIV on antiretroviral therapy (ART) in the Health Gym schema.

The real Health Gym ART data (EuResist) is not public, so the project ships this simulated
cohort as its built-in data. It is **simulated, not patient data**. It has the exact 15 columns
of the Health Gym v2.0 ART table, one row per person per month, and is built to look plausible
to a clinician: the published marginal shares are matched, and the months are linked by a
small mechanistic model instead of being independent noise.

The model (one step = one month; every parameter is a module constant below)
--------------------------------------------------------------------------
People. Gender and Ethnic are drawn once per person from the published shares. ``NAIVE_SHARE``
of people are ART-naive at entry: a share ``NAIVE_START_AT_ENTRY`` of them start ART at month 0,
the rest at a month drawn uniformly from 1..``NAIVE_LATEST_START``; until then they are untreated
(``Drug (M)`` = 0). Everyone else is already on ART at month 0 and is suppressed at entry with the
probability their regimen achieves on a fresh start (otherwise viraemic on it).

Regimens. ``REGIMENS`` lists 22 concrete regimens (base combination + INI + NNRTI + extra PI +
pharmacokinetic enhancer), each with its target share of patient-months, its chance of
suppressing the virus when started (``response``) and its monthly hazard of virological failure
once suppressed (``failure_hazard``) — integrase inhibitors and boosted darunavir are the most
potent, nevirapine, lopinavir and NRTI-only backbones the least. The shares are solved so that
every drug column's marginal matches the published one; INI and NNRTI overlap only in the
dual DTG + RPV regimen (0.5%), so they are nearly exclusive. The first regimen is drawn from the
shares; a new regimen after a switch is drawn (never the current one) with weight
share / expected-episode-length, which keeps the regimen mix near the shares over all 60 months
(a regimen that is left quickly must be chosen more often to hold its share of months).

Viral load (true value ``lv`` = log10 copies/mL). Each person has a set point ``lv*`` ~
N(``SET_POINT_MEAN``, ``SET_POINT_SD``) clipped to ``SET_POINT_RANGE``. Each month ``lv`` moves a
fraction of the way to its target plus N(0, ``LV_PROCESS_SD``) noise: untreated or interrupted
→ ``lv*`` (fraction ``REBOUND_RATE``); on ART and responding → ``LV_FLOOR`` (≈2 copies, well below
the 50 copies/mL assay limit) at a personal rate ~ U(``DECAY_RATE_RANGE``), so VL is undetectable
within 2–4 months; on ART and not responding (primary non-response or, after virological failure,
rebound) → ``lv*`` minus a personal partial effect ~ U(``PARTIAL_EFFECT_RANGE``) log10.

Events, decided at the end of each month for the next. A responding person fails with the
regimen's ``failure_hazard`` (from month ``FAILURE_EARLIEST``). A person on ART whose viral load is
measured above ``FAILURE_THRESHOLD`` copies/mL at least ``FAILURE_EARLIEST`` months into the regimen
is switched with probability ``SWITCH_ON_FAILURE`` (so switches follow measured rebounds);
suppressed people switch for other reasons (toxicity, simplification) with hazard
``SWITCH_OTHER_HAZARD`` and stay suppressed. People on ART interrupt treatment with hazard
``INTERRUPT_HAZARD`` and resume the same regimen with monthly probability ``RESUME_RATE``
(interrupted months have ``Drug (M)`` = 0; the viral load rebounds meanwhile).

CD4 (true value on the square-root scale, where its dynamics are close to linear). Entry CD4 ~
N(``CD4_SQRT_ENTRY_NAIVE``) for naive and N(``CD4_SQRT_ENTRY_TREATED``) for treated people (mean,
sd on the sqrt scale), each with a personal plateau. While suppressed (VL below 200) sqrt CD4 climbs
a fraction ``CD4_RECOVERY_RATE`` of the way to the plateau per month (≈ +150 cells/µL in the first
year, slower later); while viraemic it falls by ``CD4_DECLINE_RATE`` × (lv − 2) per month (≈ −50 to
−80 cells/µL a year untreated). Rel CD4 (CD4 %) = CD4 / total lymphocytes, with a personal
lymphocyte count ~ logNormal(``LYMPHOCYTES_MEDIAN``, ``LYMPHOCYTES_SD``); so Rel CD4 tracks CD4.

Measurements. A month has a clinic visit with a probability set by the state: the month a regimen
starts and the follow-ups 1, 3 and 6 months later (``VISIT_FOLLOW_UP``), viraemic on ART
(``VISIT_VIRAEMIC``), stable (``VISIT_STABLE``), untreated or interrupted (``VISIT_OFF_ART``); month 0
is always a visit. At a visit VL is measured with probability ``VL_AT_VISIT`` and CD4 (with Rel CD4)
with ``CD4_AT_VISIT``, so the two flags are strongly correlated. A measurement adds assay noise
(``VL_ASSAY_SD`` log10; ``CD4_ASSAY_SD`` and ``LYMPHOCYTE_ASSAY_SD`` as log-normal CVs). Months in
between carry the last measurement forward, as clinical records do; ``VL (M)`` and ``CD4 (M)`` mark
the months with a real measurement and ``Drug (M)`` the months with a drug record (on ART). The drug
columns of untreated or interrupted months carry the nearest regimen (forward, or back from the
first one before ART starts), so every row has a label as in the Health Gym table.

Value types: label columns hold the labels as strings, except ``Extra pk-En``, which is bool
(False/True): a CSV reader turns the words False/True into bool anyway, so bool is the only type
that survives both CSV and Parquet round trips unchanged. The (M) flags are int 0/1; VL, CD4 and
Rel CD4 are floats rounded to two decimals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hgym_core.errors import HGymError

HIV_COLUMNS = [
    "PatientID", "Timestep", "VL", "CD4", "Rel CD4", "Gender", "Ethnic", "Base Drug Combo",
    "Comp. INI", "Comp. NNRTI", "Extra PI", "Extra pk-En", "VL (M)", "CD4 (M)", "Drug (M)",
]
HIV_CATEGORIES: dict[str, list] = {
    "Gender": ["Male", "Female"],
    "Ethnic": ["Asian", "African", "Caucasian", "Other"],
    "Base Drug Combo": ["FTC + TDF", "3TC + ABC", "FTC + TAF", "DRV + FTC + TDF", "FTC + RTVB + TDF", "Other"],
    "Comp. INI": ["DTG", "RAL", "EVG", "Not Applied"],
    "Comp. NNRTI": ["NVP", "EFV", "RPV", "Not Applied"],
    "Extra PI": ["DRV", "RTVB", "LPV", "RTV", "ATV", "Not Applied"],
    "Extra pk-En": [False, True],
    "VL (M)": [0, 1],
    "CD4 (M)": [0, 1],
    "Drug (M)": [0, 1],
}
HIV_STATIC = ["Gender", "Ethnic"]
HIV_NUMERIC = ["VL", "CD4", "Rel CD4"]
HIV_UNITS = {"VL": "copies/mL", "CD4": "cells/µL", "Rel CD4": "%"}

# --- People -------------------------------------------------------------------------------
GENDER_SHARES = {"Male": 0.86, "Female": 0.14}
ETHNIC_SHARES = {"Asian": 0.02, "African": 0.12, "Caucasian": 0.21, "Other": 0.65}
NAIVE_SHARE = 0.55            # ART-naive at entry
NAIVE_START_AT_ENTRY = 0.35   # of the naive, share starting ART at month 0
NAIVE_LATEST_START = 36       # the others start uniformly in months 1..36
POOR_ADHERENCE_SHARE = 0.15   # people who often miss doses:
POOR_ADHERENCE_RESPONSE = 0.6 # their chance of responding is this times the regimen's,
POOR_ADHERENCE_FAILURE = 3.0  # and their failure hazard this times the regimen's


@dataclass(frozen=True)
class Regimen:
    """One concrete combination as it appears in the drug columns, with its clinical effect."""

    base: str
    ini: str
    nnrti: str
    pi: str
    pk_enhancer: bool
    share: float            # target share of patient-months
    response: float         # chance of suppression when started
    failure_hazard: float   # monthly chance of virological failure once suppressed


NA = "Not Applied"
REGIMENS: tuple[Regimen, ...] = (
    # FTC + TDF backbone: 48% of months
    Regimen("FTC + TDF", NA, "EFV", NA, False, 0.1100, 0.87, 0.005),
    Regimen("FTC + TDF", NA, "RPV", NA, False, 0.1850, 0.88, 0.005),
    Regimen("FTC + TDF", "EVG", NA, NA, True, 0.0475, 0.92, 0.003),   # cobicistat-boosted
    Regimen("FTC + TDF", "DTG", NA, NA, False, 0.0600, 0.95, 0.002),
    Regimen("FTC + TDF", "RAL", NA, NA, False, 0.0250, 0.90, 0.004),
    Regimen("FTC + TDF", NA, NA, "DRV", False, 0.0300, 0.92, 0.003),
    Regimen("FTC + TDF", NA, NA, "ATV", False, 0.0225, 0.87, 0.005),
    # 3TC + ABC backbone: 29%
    Regimen("3TC + ABC", "DTG", NA, NA, False, 0.1650, 0.95, 0.002),
    Regimen("3TC + ABC", NA, "EFV", NA, False, 0.0400, 0.87, 0.005),
    Regimen("3TC + ABC", NA, "NVP", NA, False, 0.0250, 0.80, 0.008),
    Regimen("3TC + ABC", "RAL", NA, NA, False, 0.0150, 0.90, 0.004),
    Regimen("3TC + ABC", NA, "RPV", NA, False, 0.0300, 0.88, 0.005),
    Regimen("3TC + ABC", NA, NA, "DRV", False, 0.0100, 0.92, 0.003),
    Regimen("3TC + ABC", NA, NA, "ATV", False, 0.0050, 0.87, 0.005),
    # FTC + TAF: 3%
    Regimen("FTC + TAF", "EVG", NA, NA, True, 0.0200, 0.93, 0.003),
    Regimen("FTC + TAF", NA, "RPV", NA, False, 0.0100, 0.90, 0.004),
    # darunavir in the base, boosted by ritonavir: 14%
    Regimen("DRV + FTC + TDF", NA, NA, "RTVB", False, 0.1000, 0.92, 0.003),
    Regimen("DRV + FTC + TDF", NA, NA, "RTV", False, 0.0250, 0.91, 0.003),
    Regimen("DRV + FTC + TDF", NA, NA, NA, False, 0.0150, 0.85, 0.006),
    # ritonavir-boosted PI on FTC + TDF: 5%
    Regimen("FTC + RTVB + TDF", NA, NA, "DRV", False, 0.0200, 0.92, 0.003),
    Regimen("FTC + RTVB + TDF", NA, NA, "ATV", False, 0.0225, 0.88, 0.005),
    Regimen("FTC + RTVB + TDF", NA, NA, "LPV", False, 0.0040, 0.82, 0.007),
    Regimen("FTC + RTVB + TDF", NA, NA, NA, False, 0.0035, 0.65, 0.015),  # NRTI-only + booster
    # other backbones: 1%
    Regimen("Other", NA, "NVP", NA, False, 0.0050, 0.80, 0.008),
    Regimen("Other", "DTG", "RPV", NA, False, 0.0050, 0.93, 0.003),    # dual therapy: INI + NNRTI
)

# --- Viral load (log10 copies/mL) ----------------------------------------------------------
SET_POINT_MEAN, SET_POINT_SD, SET_POINT_RANGE = 4.4, 0.55, (2.8, 4.9)
LV_FLOOR = 0.3                      # ≈ 2 copies/mL: fully suppressed
LV_PROCESS_SD = 0.15
DECAY_RATE_RANGE = (0.4, 0.7)       # share of the way to the floor covered per month on ART
REBOUND_RATE = 0.6
PARTIAL_EFFECT_RANGE = (0.3, 1.5)   # log10 drop kept by a failing regimen
SUPPRESSED_BELOW = np.log10(50.0)   # assay detection limit
FAILURE_THRESHOLD = 500.0           # copies/mL measured that prompts a switch
FAILURE_EARLIEST = 3                # months into a regimen before failure is declared
SWITCH_ON_FAILURE = 0.7
SWITCH_OTHER_HAZARD = 0.007
INTERRUPT_HAZARD = 0.008
RESUME_RATE = 0.2

# --- CD4 (sqrt cells/µL) and CD4 % ------------------------------------------------------------
CD4_SQRT_ENTRY_NAIVE = (17.0, 4.5)
CD4_SQRT_ENTRY_TREATED = (22.5, 4.5)
CD4_SQRT_PLATEAU_GAIN = (7.0, 3.0)  # plateau = entry + gain (mean, sd), at least entry + 2
CD4_RECOVERY_RATE = 0.04
CD4_DECLINE_RATE = 0.04
CD4_PROCESS_SD = 0.2
CD4_RECOVERS_BELOW = np.log10(200.0)
OTHER_LYMPHOCYTES_MEDIAN, OTHER_LYMPHOCYTES_SD = 1600.0, 0.3   # CD8, B and NK cells per µL

# --- Measurements ---------------------------------------------------------------------------
VISIT_FOLLOW_UP = 0.85
FOLLOW_UP_MONTHS = (0, 1, 3, 6)     # months after a regimen starts
VISIT_VIRAEMIC = 0.5
VISIT_STABLE = 0.13
VISIT_OFF_ART = 0.15
VL_AT_VISIT = 0.97
CD4_AT_VISIT = 0.88
VL_ASSAY_SD = 0.12
REL_CD4_ASSAY_SD = 0.06
LYMPHOCYTE_ASSAY_SD = 0.08
VL_RANGE = (0.1, 2.0e5)
CD4_RANGE = (8.0, 3000.0)
REL_CD4_RANGE = (1.0, 80.0)


def _regimen_table() -> dict[str, np.ndarray]:
    """Column arrays over REGIMENS: label codes and effect parameters, for vectorised lookup."""
    table = {
        "Base Drug Combo": [HIV_CATEGORIES["Base Drug Combo"].index(r.base) for r in REGIMENS],
        "Comp. INI": [HIV_CATEGORIES["Comp. INI"].index(r.ini) for r in REGIMENS],
        "Comp. NNRTI": [HIV_CATEGORIES["Comp. NNRTI"].index(r.nnrti) for r in REGIMENS],
        "Extra PI": [HIV_CATEGORIES["Extra PI"].index(r.pi) for r in REGIMENS],
        "Extra pk-En": [int(r.pk_enhancer) for r in REGIMENS],
        "share": [r.share for r in REGIMENS],
        "response": [r.response for r in REGIMENS],
        "failure_hazard": [r.failure_hazard for r in REGIMENS],
    }
    arrays = {name: np.asarray(values) for name, values in table.items()}
    arrays["share"] = arrays["share"] / arrays["share"].sum()
    # Expected months on a regimen once started: responders leave at the failure + other-switch
    # hazard, non-responders within about half a year. Drawing switches with weight
    # share / length keeps each regimen's share of months near its target.
    episode = (arrays["response"] / (arrays["failure_hazard"] + SWITCH_OTHER_HAZARD)
               + (1 - arrays["response"]) * 6.0)
    switch_weight = arrays["share"] / episode
    arrays["switch_weight"] = switch_weight / switch_weight.sum()
    return arrays


def _check_arguments(n_patients: int, seed: int, n_months: int) -> None:
    for name, value, least in (("n_patients", n_patients, 1), ("n_months", n_months, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise HGymError(f"{name} must be a whole number of at least {least}, got {value!r}; "
                            f"e.g. n_patients=8916, n_months=60, seed=0.")


def _draw_regimens(rng: np.random.Generator, current: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """A new regimen for each entry of ``current``, drawn by ``weights`` and never the same one."""
    new = rng.choice(len(weights), size=current.size, p=weights)
    same = new == current
    while same.any():
        new[same] = rng.choice(len(weights), size=int(same.sum()), p=weights)
        same = new == current
    return new


def _stratified(rng: np.random.Generator, shares: np.ndarray, n: int) -> np.ndarray:
    """``n`` codes in the given shares (largest remainder), shuffled: the cohort has the published
    mix at any size instead of a sampling error of ~1 point per category at a few thousand people."""
    exact = np.asarray(shares, dtype=float) / np.sum(shares) * n
    counts = np.floor(exact).astype(np.int64)
    counts[np.argsort(counts - exact)[: n - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(counts)), counts))


def _carry_forward(values: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Each month shows the last measured value (month 0 is always measured)."""
    months = np.arange(values.shape[1])
    last = np.maximum.accumulate(np.where(measured, months, 0), axis=1)
    return np.take_along_axis(values, last, axis=1)


def simulate_hiv_cohort(n_patients: int = 8916, seed: int = 0, n_months: int = 60) -> pd.DataFrame:
    """Simulate ``n_patients`` people on ART for ``n_months`` months in the Health Gym ART schema.

    Rows are sorted by PatientID (0..n_patients-1) and Timestep (0..n_months-1); the columns are
    ``HIV_COLUMNS``. The same arguments always give the identical table.
    """
    _check_arguments(n_patients, seed, n_months)
    rng = np.random.default_rng(seed)
    reg = _regimen_table()
    n, months = n_patients, n_months
    everyone = np.ones(n, dtype=bool)

    # People and their fixed traits.
    gender = _stratified(rng, list(GENDER_SHARES.values()), n)
    ethnic = _stratified(rng, list(ETHNIC_SHARES.values()), n)
    naive = rng.random(n) < NAIVE_SHARE
    art_start = np.where(naive & (rng.random(n) >= NAIVE_START_AT_ENTRY),
                         rng.integers(1, NAIVE_LATEST_START + 1, size=n), 0)
    set_point = np.clip(rng.normal(SET_POINT_MEAN, SET_POINT_SD, n), *SET_POINT_RANGE)
    decay_rate = rng.uniform(*DECAY_RATE_RANGE, n)
    poor_adherence = rng.random(n) < POOR_ADHERENCE_SHARE
    response_factor = np.where(poor_adherence, POOR_ADHERENCE_RESPONSE, 1.0)
    failure_factor = np.where(poor_adherence, POOR_ADHERENCE_FAILURE, 1.0)
    cd4_entry = np.where(naive, rng.normal(*CD4_SQRT_ENTRY_NAIVE, n), rng.normal(*CD4_SQRT_ENTRY_TREATED, n))
    cd4_entry = np.clip(cd4_entry, 3.0, 40.0)
    cd4_plateau = cd4_entry + np.maximum(rng.normal(*CD4_SQRT_PLATEAU_GAIN, n), 2.0)
    other_lymphocytes = OTHER_LYMPHOCYTES_MEDIAN * np.exp(rng.normal(0.0, OTHER_LYMPHOCYTES_SD, n))

    # State at month 0.
    regimen = _stratified(rng, reg["share"], n)
    on_art = ~naive | (art_start == 0)
    interrupted = np.zeros(n, dtype=bool)
    responder = rng.random(n) < reg["response"][regimen] * response_factor
    partial_effect = rng.uniform(*PARTIAL_EFFECT_RANGE, n)
    # Treated entrants are established on their regimen (no start-up visits); starters begin at 0.
    months_on_regimen = np.where(naive, 0, 24)
    treated_at_entry = ~naive
    lv = np.where(treated_at_entry & responder, LV_FLOOR, set_point - np.where(treated_at_entry, partial_effect, 0.0))
    lv = lv + rng.normal(0.0, LV_PROCESS_SD, n)
    cd4 = cd4_entry.copy()

    shape = (n, months)
    vl_seen, cd4_seen, rel_seen = np.empty(shape), np.empty(shape), np.empty(shape)
    vl_measured, cd4_measured = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
    drug_record = np.zeros(shape, dtype=bool)
    regimen_at = np.empty(shape, dtype=np.int64)

    for t in range(months):
        treated = on_art & ~interrupted
        # Visits: start-up follow-ups, close watch while viraemic on ART, routine otherwise.
        follow_up = treated & np.isin(months_on_regimen, FOLLOW_UP_MONTHS)
        viraemic_on_art = treated & (lv > SUPPRESSED_BELOW)
        visit_p = np.where(follow_up, VISIT_FOLLOW_UP,
                           np.where(viraemic_on_art, VISIT_VIRAEMIC, np.where(treated, VISIT_STABLE, VISIT_OFF_ART)))
        visit = (rng.random(n) < visit_p) if t > 0 else everyone
        vl_measured[:, t] = visit & ((rng.random(n) < VL_AT_VISIT) | (t == 0))
        cd4_measured[:, t] = visit & ((rng.random(n) < CD4_AT_VISIT) | (t == 0))

        # What the lab would report this month (kept only where measured).
        vl_seen[:, t] = lv + rng.normal(0.0, VL_ASSAY_SD, n)
        # The lab measures CD4 % by flow cytometry and the lymphocyte count separately;
        # absolute CD4 is their product, so the two CD4 columns share the % error.
        lymphocytes = cd4**2 + other_lymphocytes
        rel_seen[:, t] = 100.0 * cd4**2 / lymphocytes * np.exp(rng.normal(0.0, REL_CD4_ASSAY_SD, n))
        cd4_seen[:, t] = rel_seen[:, t] / 100.0 * lymphocytes * np.exp(rng.normal(0.0, LYMPHOCYTE_ASSAY_SD, n))
        drug_record[:, t] = treated
        regimen_at[:, t] = regimen

        # The month's biology under this month's treatment: viral load towards its target,
        # CD4 up while suppressed, down while viraemic. Measured values above are from the
        # start of the month, so the month ART starts shows the untreated baseline.
        target = np.where(treated & responder, LV_FLOOR, set_point - np.where(treated, partial_effect, 0.0))
        rate = np.where(treated & responder, decay_rate, REBOUND_RATE)
        cd4_change = np.where(lv < CD4_RECOVERS_BELOW, CD4_RECOVERY_RATE * (cd4_plateau - cd4),
                              -CD4_DECLINE_RATE * np.maximum(lv - 2.0, 0.0))
        lv = lv + rate * (target - lv) + rng.normal(0.0, LV_PROCESS_SD, n)
        cd4 = np.maximum(cd4 + cd4_change + rng.normal(0.0, CD4_PROCESS_SD, n), 2.0)

        # Decisions at the end of the month, effective from the next.
        failed_visit = (treated & vl_measured[:, t] & (vl_seen[:, t] > np.log10(FAILURE_THRESHOLD))
                        & (months_on_regimen >= FAILURE_EARLIEST))
        switch_failure = failed_visit & (rng.random(n) < SWITCH_ON_FAILURE)
        switch_other = treated & ~switch_failure & (lv < SUPPRESSED_BELOW) & (rng.random(n) < SWITCH_OTHER_HAZARD)
        failure = (treated & responder & (months_on_regimen >= FAILURE_EARLIEST)
                   & (rng.random(n) < reg["failure_hazard"][regimen] * failure_factor))
        stop = treated & ~switch_failure & ~switch_other & (rng.random(n) < INTERRUPT_HAZARD)
        resume = interrupted & (rng.random(n) < RESUME_RATE)
        start = ~on_art & (art_start == t + 1)

        switch = switch_failure | switch_other
        regimen = np.where(switch, _draw_regimens(rng, regimen, reg["switch_weight"]), regimen)
        fresh = switch_failure | resume | start   # starts from viraemia: response is uncertain
        response_draw = rng.random(n) < reg["response"][regimen] * response_factor
        responder = np.where(fresh, response_draw, responder & ~failure)
        responder = responder | switch_other       # a switch while suppressed keeps suppression
        partial_effect = np.where(fresh | failure, rng.uniform(*PARTIAL_EFFECT_RANGE, n), partial_effect)
        on_art = on_art | start
        interrupted = (interrupted & ~resume) | stop
        months_on_regimen = np.where(switch | resume | start, 0, months_on_regimen + 1)


    vl = np.clip(10.0 ** _carry_forward(vl_seen, vl_measured), *VL_RANGE)
    cd4_abs = np.clip(_carry_forward(cd4_seen, cd4_measured), *CD4_RANGE)
    rel_cd4 = np.clip(_carry_forward(rel_seen, cd4_measured), *REL_CD4_RANGE)
    # Before ART starts the drug columns show the first regimen (back-filled), as Health Gym does.
    return _to_frame(n, months, vl, cd4_abs, rel_cd4, gender, ethnic, regimen_at, reg,
                     vl_measured, cd4_measured, drug_record)


def _labels(column: str, codes: np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(HIV_CATEGORIES[column], dtype=object)[codes.ravel()], dtype="str")


def _to_frame(n, months, vl, cd4, rel_cd4, gender, ethnic, regimen_at, reg,
              vl_measured, cd4_measured, drug_record) -> pd.DataFrame:
    per_month = lambda values: np.repeat(values, months)  # noqa: E731 - one static value per row
    columns = {
        "PatientID": per_month(np.arange(n)),
        "Timestep": np.tile(np.arange(months), n),
        "VL": vl.ravel().round(2),
        "CD4": cd4.ravel().round(2),
        "Rel CD4": rel_cd4.ravel().round(2),
        "Gender": _labels("Gender", per_month(gender)),
        "Ethnic": _labels("Ethnic", per_month(ethnic)),
    }
    for column in ("Base Drug Combo", "Comp. INI", "Comp. NNRTI", "Extra PI"):
        columns[column] = _labels(column, reg[column][regimen_at])
    columns["Extra pk-En"] = reg["Extra pk-En"][regimen_at].ravel().astype(bool)
    columns["VL (M)"] = vl_measured.ravel().astype(np.int64)
    columns["CD4 (M)"] = cd4_measured.ravel().astype(np.int64)
    columns["Drug (M)"] = drug_record.ravel().astype(np.int64)
    return pd.DataFrame(columns)[HIV_COLUMNS]
