"""A seeded simulator of people with HIV on antiretroviral therapy (ART) in the Health Gym schema.

The real Health Gym ART data (EuResist) is not public, so the project ships this simulated
cohort as its built-in data. It is **simulated, not patient data**. It has the exact 15 columns
of the Health Gym v2.0 ART table, one row per person per month, matches the published marginal
shares, and links the months by a small mechanistic model instead of independent noise.
Every parameter is a module constant below; the values quoted here are the defaults.

The model (one step = one month)
--------------------------------
People. Gender and Ethnic are fixed per person, in exactly the published mix (stratified draw).
``NAIVE_SHARE`` (55%) are ART-naive at entry: ``NAIVE_START_AT_ENTRY`` (35%) of them start ART at
month 0, the rest in a month uniform on 1..``NAIVE_LATEST_START`` (36); until then they are
untreated. The others are established on ART at entry, suppressed or not as their regimen's
response draw decides. ``POOR_ADHERENCE_SHARE`` (20%) adhere poorly: their chance of responding
is ×``POOR_ADHERENCE_RESPONSE`` (0.5) and their failure hazard ×``POOR_ADHERENCE_FAILURE`` (3).

Regimens. ``REGIMENS`` lists 25 concrete regimens (base combination + INI + NNRTI + extra PI +
pharmacokinetic enhancer) with their target share of patient-months, their chance of suppressing
the virus when started (``response``, 0.65 NRTI-only to 0.95 dolutegravir) and their monthly
hazard of virological failure once suppressed (``failure_hazard``, 0.002 to 0.015). The shares
are solved by hand so that every drug column's marginal matches the published one; INI and NNRTI
meet only in the dual DTG + RPV regimen (0.5%), so they are nearly exclusive; elvitegravir always
comes with cobicistat (``Extra pk-En`` True). The first regimen is drawn in the target shares.
After virological failure the next regimen never shares an anchor class (INI, NNRTI, PI) with the
failing one, as resistance demands; other switches go to any other regimen. The switch-draw
weights (``_switch_weights``) balance, for each regimen, the months flowing in and out, so the
regimen mix stays at its target shares over all months although potent regimens are left less.

Viral load (true value ``lv`` = log10 copies/mL). A personal set point ~ N(``SET_POINT_MEAN`` 4.4,
``SET_POINT_SD`` 0.55) clipped to ``SET_POINT_RANGE`` (2.8, 4.9). Each month ``lv`` moves part of the
way to a target, plus N(0, ``LV_PROCESS_SD`` 0.15): untreated or interrupted → set point (fraction
``REBOUND_RATE`` 0.6 per month); on ART and responding → ``LV_FLOOR`` 0.3 (≈ 2 copies/mL, below the
50 copies/mL assay limit) at a personal rate ~ U(``DECAY_RATE_RANGE`` 0.4, 0.7), so VL is
undetectable within 2–4 months; on ART and not responding (primary non-response, or rebound after
failure) → set point minus a partial drug effect ~ U(``PARTIAL_EFFECT_RANGE`` 0.3, 1.5) log10.

Events, decided at the end of a month for the next. A responder fails with the regimen's
``failure_hazard`` (from month ``FAILURE_EARLIEST`` 3 of the regimen). A VL measured above
``FAILURE_THRESHOLD`` (500 copies/mL) at least 3 months into a regimen leads to a switch with
probability ``SWITCH_ON_FAILURE`` (0.7), so switches follow measured rebounds. Suppressed people
switch for other reasons (toxicity, simplification) with hazard ``SWITCH_OTHER_HAZARD`` (0.007) and
stay suppressed. People on ART interrupt with hazard ``INTERRUPT_HAZARD`` (0.008) and resume the
same regimen with monthly probability ``RESUME_RATE`` (0.2); the virus rebounds meanwhile. A start,
a failure switch or a resumption draws the response afresh.

CD4 (true value on the square-root scale, where its course is close to linear). Entry sqrt CD4 ~
N(``CD4_SQRT_ENTRY_NAIVE`` 17, 4.5) naive (median ≈ 290 cells/µL) or N(``CD4_SQRT_ENTRY_TREATED``
22.5, 4.5) treated (≈ 500), each with a personal plateau ``CD4_SQRT_PLATEAU_GAIN`` (8 ± 3) higher.
While VL is below 200 copies/mL, sqrt CD4 climbs ``CD4_RECOVERY_RATE`` (7%) of the way to the
plateau per month (median ≈ +95 cells/µL in the first suppressed year, slower after); while
viraemic it falls by ``CD4_DECLINE_RATE`` (0.06) × (lv − 2) per month (median ≈ −55 cells/µL a
year untreated); monthly noise ``CD4_PROCESS_SD`` (0.2).
Rel CD4 (CD4 %) = CD4 / (CD4 + other lymphocytes), other lymphocytes fixed per person ~
logNormal(median ``OTHER_LYMPHOCYTES_MEDIAN`` 1600/µL, ``OTHER_LYMPHOCYTES_SD`` 0.3), so it tracks
CD4, saturates as CD4 % does, and peaks near 20%.

Measurements. A month has a clinic visit with a probability set by the state: the month a regimen
starts and the follow-ups 1, 3 and 6 months later ``VISIT_FOLLOW_UP`` (0.85), viraemic on ART
``VISIT_VIRAEMIC`` (0.45), stable on ART ``VISIT_STABLE`` (0.10), untreated or interrupted
``VISIT_OFF_ART`` (0.15); month 0 is a baseline visit for everyone. At a visit VL is measured with
probability ``VL_AT_VISIT`` (0.97) and CD4 with Rel CD4 with ``CD4_AT_VISIT`` (0.88), so the two
flags are strongly correlated (~0.9). Values are read at the start of the month, so the month ART
starts shows the untreated baseline. The lab adds noise: VL ``VL_ASSAY_SD`` (0.12 log10); CD4 % a
log-normal CV ``REL_CD4_ASSAY_SD`` (6%), and absolute CD4 = CD4 % × lymphocyte count, which adds
``LYMPHOCYTE_ASSAY_SD`` (8%). Months without a measurement carry the last one forward, as a clinical
record does; ``VL (M)`` and ``CD4 (M)`` mark measured months, ``Drug (M)`` months on ART (a drug
record). Untreated and interrupted months show, in the drug columns, the regimen the person is
about to start or resume, so every row has a label as in the Health Gym table.

Value types: label columns are strings (pandas' str dtype), except ``Extra pk-En``, which is bool
False/True: a CSV reader turns the words False/True into bool anyway, so bool is the only type that
survives both CSV and Parquet round trips unchanged. The (M) flags are int 0/1; VL, CD4 and Rel CD4
are floats rounded to two decimals, clipped to ``VL_RANGE``, ``CD4_RANGE`` and ``REL_CD4_RANGE``.
"""

from __future__ import annotations

from dataclasses import dataclass

from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa

from hgym_core.data.schema import Schema, Variable
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
# Each number is carried forward between measurements; these flags mark the months measured.
HIV_MEASURED_BY = {"VL": "VL (M)", "CD4": "CD4 (M)", "Rel CD4": "CD4 (M)"}
# The published cohort's size; the dashboard, the command line and the library default to it.
DEMO_PATIENTS = 8916
DEMO_MONTHS = 60
DEMO_SEED = 0

# Varying follow-up (``simulate_long_tailed_cohort``): people enter and leave, as in real HIV cohorts
# and hospital exports. Most are followed briefly: months ~ 1 + LogNormal(median FOLLOW_UP_MEDIAN,
# FOLLOW_UP_SIGMA); LONG_FOLLOW_UP_SHARE are followed for years, uniform on LONG_FOLLOW_UP_MONTHS
# and cut at MAX_FOLLOW_UP (so some reach it at every size from a few thousand people up); everyone
# for 1 to MAX_FOLLOW_UP months. At 10,000 people: median 9, 99th percentile 87-90, longest 250
# (tests/test_demo.py checks the shape).
FOLLOW_UP_MEDIAN = 9.0
FOLLOW_UP_SIGMA = 0.75
LONG_FOLLOW_UP_SHARE = 0.01
LONG_FOLLOW_UP_MONTHS = (60, 270)
MAX_FOLLOW_UP = 250
MAX_LONG_TAILED_PATIENTS = 200_000
SIMULATION_CHUNK = 20_000   # people simulated at a time (memory: a chunk x MAX_FOLLOW_UP months)

# --- People -------------------------------------------------------------------------------
GENDER_SHARES = {"Male": 0.86, "Female": 0.14}
ETHNIC_SHARES = {"Asian": 0.02, "African": 0.12, "Caucasian": 0.21, "Other": 0.65}
NAIVE_SHARE = 0.55            # ART-naive at entry
NAIVE_START_AT_ENTRY = 0.35   # of the naive, share starting ART at month 0
NAIVE_LATEST_START = 36       # the others start uniformly in months 1..36
POOR_ADHERENCE_SHARE = 0.2    # people who often miss doses:
POOR_ADHERENCE_RESPONSE = 0.5 # their chance of responding is this times the regimen's,
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


NOT_APPLIED = "Not Applied"
NA = NOT_APPLIED  # short alias that keeps the table below readable
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
    Regimen("DRV + FTC + TDF", NA, NA, "RTV", False, 0.0200, 0.91, 0.003),
    Regimen("DRV + FTC + TDF", NA, NA, NA, False, 0.0200, 0.85, 0.006),
    # ritonavir-boosted PI on FTC + TDF: 5%
    Regimen("FTC + RTVB + TDF", NA, NA, "DRV", False, 0.0200, 0.92, 0.003),
    Regimen("FTC + RTVB + TDF", NA, NA, "ATV", False, 0.0225, 0.88, 0.005),
    Regimen("FTC + RTVB + TDF", NA, NA, "LPV", False, 0.0030, 0.82, 0.007),
    Regimen("FTC + RTVB + TDF", NA, NA, NA, False, 0.0045, 0.65, 0.015),  # NRTI-only + booster
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
NON_RESPONSE_MONTHS = 6.0           # typical time on a regimen that never suppresses
SWITCH_OTHER_HAZARD = 0.007
INTERRUPT_HAZARD = 0.008
RESUME_RATE = 0.2
ESTABLISHED_MONTHS = 24             # time on regimen assumed for people treated at entry

# --- CD4 (sqrt cells/µL) and CD4 % ------------------------------------------------------------
CD4_SQRT_ENTRY_NAIVE = (17.0, 4.5)
CD4_SQRT_ENTRY_TREATED = (22.5, 4.5)
CD4_SQRT_PLATEAU_GAIN = (8.0, 3.0)  # plateau = entry + gain (mean, sd), at least entry + 2
CD4_RECOVERY_RATE = 0.07
CD4_DECLINE_RATE = 0.06
CD4_PROCESS_SD = 0.2
CD4_RECOVERS_BELOW = np.log10(200.0)
OTHER_LYMPHOCYTES_MEDIAN, OTHER_LYMPHOCYTES_SD = 1600.0, 0.3   # CD8, B and NK cells per µL

# --- Measurements ---------------------------------------------------------------------------
VISIT_FOLLOW_UP = 0.85
FOLLOW_UP_MONTHS = (0, 1, 3, 6)     # months after a regimen starts
VISIT_VIRAEMIC = 0.45
VISIT_STABLE = 0.10
VISIT_OFF_ART = 0.15
VL_AT_VISIT = 0.97
CD4_AT_VISIT = 0.88
VL_ASSAY_SD = 0.12
REL_CD4_ASSAY_SD = 0.06
LYMPHOCYTE_ASSAY_SD = 0.08
VL_RANGE = (0.1, 2.0e5)
CD4_RANGE = (8.0, 3000.0)
REL_CD4_RANGE = (1.0, 80.0)


def _anchor_classes(r: Regimen) -> int:
    """Bit mask of the regimen's anchor drug classes (1 INI, 2 NNRTI, 4 PI; 0 for NRTIs only)."""
    return (1 * (r.ini != NA)) | (2 * (r.nnrti != NA)) | (4 * (r.pi != NA or r.base.startswith("DRV")))


def _regimen_table() -> dict[str, np.ndarray]:
    """Column arrays over REGIMENS: label codes, effect parameters and switch rules, for lookup."""
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
    classes = np.array([_anchor_classes(r) for r in REGIMENS])
    different = ~np.eye(len(REGIMENS), dtype=bool)
    # After virological failure the next regimen avoids the failing anchor class (resistance).
    arrays["after_failure"] = different & ((classes[:, None] & classes[None, :]) == 0)
    arrays["after_other"] = different
    arrays["switch_weight"] = _switch_weights(arrays)
    return arrays


def _switch_weights(reg: dict[str, np.ndarray], iterations: int = 200) -> np.ndarray:
    """Weights for drawing the regimen after a switch that keep each regimen's share of months.

    A regimen's monthly rates of leaving by failure and for other reasons follow from its
    response and failure hazard (responders stay about 1 / (failure + other-switch hazard)
    months, non-responders about ``NON_RESPONSE_MONTHS``). Balance: months flowing into each
    regimen = months flowing out, given who may switch to whom; solved by fixed-point iteration.
    """
    share, p, hazard = reg["share"], reg["response"], reg["failure_hazard"]
    episode = p / (hazard + SWITCH_OTHER_HAZARD) + (1 - p) * NON_RESPONSE_MONTHS
    leave_failure = (p * hazard / (hazard + SWITCH_OTHER_HAZARD) + (1 - p)) / episode
    leave_other = p * SWITCH_OTHER_HAZARD / (hazard + SWITCH_OTHER_HAZARD) / episode
    outflow = share * (leave_failure + leave_other)
    weight = share.copy()
    for _ in range(iterations):
        reach = sum(share[:, None] * rate[:, None] * allowed / (allowed @ weight)[:, None]
                    for rate, allowed in ((leave_failure, reg["after_failure"]), (leave_other, reg["after_other"])))
        weight = outflow / reach.sum(axis=0)
        weight = weight / weight.sum()
    return weight


def _check_arguments(n_patients: int, seed: int, n_months: int) -> None:
    for name, flag, value, least in (("n_patients", "--patients", n_patients, 1),
                                     ("n_months", "--months", n_months, 1), ("seed", "--seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise HGymError(f"{name} ({flag} on the command line) must be a whole number of at least "
                            f"{least}, got {value!r}; the defaults are {DEMO_PATIENTS} patients, {DEMO_MONTHS} months, "
                            f"seed {DEMO_SEED}.")


def _draw_regimens(rng: np.random.Generator, allowed: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """One regimen per row of ``allowed`` [k, regimens], drawn by ``weights`` among the allowed."""
    cumulative = np.cumsum(allowed * weights, axis=1)
    threshold = rng.random(len(allowed)) * cumulative[:, -1]
    return (threshold[:, None] >= cumulative).sum(axis=1)


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


def simulate_hiv_cohort(n_patients: int = DEMO_PATIENTS, seed: int = DEMO_SEED,
                        n_months: int = DEMO_MONTHS) -> pd.DataFrame:
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
    # Treated entrants are past their start-up follow-ups; starters begin at month 0 of a regimen.
    months_on_regimen = np.where(naive, 0, ESTABLISHED_MONTHS)
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
        allowed = np.where(switch_failure[switch, None], reg["after_failure"][regimen[switch]],
                           reg["after_other"][regimen[switch]])
        regimen[switch] = _draw_regimens(rng, allowed, reg["switch_weight"])
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
    return _to_frame(n, months, vl, cd4_abs, rel_cd4, gender, ethnic, regimen_at, reg,
                     vl_measured, cd4_measured, drug_record)


def follow_up_months(n_patients: int, seed: int = DEMO_SEED) -> np.ndarray:
    """Each person's months of follow-up in the long-tailed cohort (the distribution above), seeded."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    short = 1 + np.floor(rng.lognormal(np.log(FOLLOW_UP_MEDIAN), FOLLOW_UP_SIGMA, n_patients))
    long = rng.integers(LONG_FOLLOW_UP_MONTHS[0], LONG_FOLLOW_UP_MONTHS[1] + 1, n_patients)
    months = np.where(rng.random(n_patients) < LONG_FOLLOW_UP_SHARE, long, short)
    return np.clip(months, 1, MAX_FOLLOW_UP).astype(np.int64)


def simulate_long_tailed_cohort(n_patients: int = 10_000, seed: int = DEMO_SEED) -> pd.DataFrame:
    """The built-in cohort with varying follow-up: each person's first ``follow_up_months`` months
    (1 to MAX_FOLLOW_UP, most short, a few long), for scale tests without any download. Simulated
    SIMULATION_CHUNK people at a time, each chunk from its own seeded stream, so memory stays flat
    up to MAX_LONG_TAILED_PATIENTS people. PatientID 0..n-1, Timestep 0..months-1."""
    if not isinstance(n_patients, (int, np.integer)) or not 1 <= n_patients <= MAX_LONG_TAILED_PATIENTS:
        raise HGymError(f"The long-tailed cohort has 1 to {MAX_LONG_TAILED_PATIENTS:,} patients (got {n_patients!r}).")
    months = follow_up_months(n_patients, seed)
    chunks = []
    for number, first in enumerate(range(0, n_patients, SIMULATION_CHUNK)):
        wanted = months[first:first + SIMULATION_CHUNK]
        chunk_seed = int(np.random.SeedSequence([seed, 2, number]).generate_state(1)[0])
        table = simulate_hiv_cohort(len(wanted), seed=chunk_seed, n_months=int(wanted.max()))
        table = table[table["Timestep"].to_numpy() < np.repeat(wanted, int(wanted.max()))]
        table["PatientID"] += first
        chunks.append(table)
    return pd.concat(chunks, ignore_index=True)


def _labels(column: str, codes: np.ndarray) -> pd.Series:
    """Codes to a string column (pandas' default str dtype), built in Arrow: ~10x faster than objects."""
    labels = pa.array(HIV_CATEGORIES[column], type=pa.large_string()).take(pa.array(codes.ravel()))
    return pd.Series(pd.array(labels, dtype="str"))


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


def hiv_schema(cohort: pd.DataFrame | None = None) -> Schema:
    """The built-in cohort's schema, the same for the dashboard, the command line and the library.

    Inferred from ``cohort`` (a table from ``simulate_hiv_cohort``; a small default one when
    omitted), then fixed to the published table: every label in its published order (a small
    cohort may lack one, and inference would sort them alphabetically), the static variables,
    and the units. So every entry point trains the same layout, the published one: the numbers
    are plain Box-Cox channels, without the point values or "changed" blocks inference would
    propose for the simulated VL and CD4. Each number is ``held_by`` its measurement flag (VL by
    ``VL (M)``, CD4 and Rel CD4 by ``CD4 (M)``), which adds no feature: synthetic values are carried
    forward between the months the flags mark, as the real ones are.
    """
    inferred = Schema.infer(simulate_hiv_cohort(n_patients=50) if cohort is None else cohort)

    def published(variable: Variable) -> Variable:
        if variable.name in HIV_UNITS:
            return replace(variable, kind="numeric", categories=None, unit=HIV_UNITS[variable.name], points=[],
                           held=False, held_by=HIV_MEASURED_BY[variable.name])
        if variable.name in HIV_CATEGORIES:
            labels = list(HIV_CATEGORIES[variable.name])
            return replace(variable, kind="binary" if len(labels) == 2 else "categorical", categories=labels,
                           static=variable.name in HIV_STATIC)
        return variable

    return replace(inferred, variables=[published(v) for v in inferred.variables])
