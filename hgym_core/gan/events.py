"""What the trainer reports after each generator step (to callbacks, metrics.csv and jobs).

Kept apart from trainer.py so that readers of progress (jobs, the command line, pages) need
no torch models to understand it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

# metrics.csv columns, in file order; the dashboard's live plots read these names.
METRIC_COLUMNS = ("epoch", "length", "step", "d_loss", "gp", "d_real", "d_fake", "w", "g_loss", "corr", "seconds")
LOSS_COLUMNS = ("d_loss", "gp", "d_real", "d_fake", "w", "g_loss", "corr")
# The start of the trainer's log line saying why a run ended: "training ends: <why> after <N> steps
# (<where>)", e.g. "its time budget of 60 s is spent after 1,558 steps (epoch 520 done)". Jobs keep
# what follows it as the reason the page shows.
TRAINING_ENDS = "training ends: "


class SeriesName(NamedTuple):
    short: str      # in captions and legends: "G_loss"
    title: str      # a panel of its own: "Generator loss G_loss"


# The one table of the loss series' names, in display order: the live panel and the plots read it.
LOSS_SERIES = {
    "d_real": SeriesName("D_real", "D_real (mean critic score, real)"),
    "d_fake": SeriesName("D_fake", "D_fake (mean critic score, synthetic)"),
    "w": SeriesName("W", "Wasserstein estimate W = D_real − D_fake"),
    "gp": SeriesName("GP", "Gradient penalty GP"),
    "d_loss": SeriesName("D_loss", "Critic loss D_loss"),
    "g_loss": SeriesName("G_loss", "Generator loss G_loss"),
    "corr": SeriesName("Corr", "Correlation loss Corr"),
}


@dataclass(frozen=True)
class TrainEvent:
    """One generator step. ``epoch`` counts from 1; ``step`` counts generator steps over the whole
    run (resumes included) from 1; ``seconds`` is the wall time of this step's iteration
    (n_critic critic updates + 1 generator update). ``w = d_real - d_fake`` estimates the
    Wasserstein distance. ``epochs_target`` and ``steps_target`` say where the run ends, for ETAs;
    ``budget_left`` the seconds of its time budget still to train (None without a budget).
    ``privacy`` (None when neither is on): under differential privacy "epsilon" spent so far,
    "epsilon_target" and "delta"; with the memorisation guard, its latest check: "dcr_share",
    "dcr_p_value", "memorises" and "kept_step" (the generator kept for sampling)."""

    epoch: int
    length: int
    step: int
    d_loss: float
    gp: float
    d_real: float
    d_fake: float
    w: float
    g_loss: float
    corr: float
    seconds: float
    epochs_target: int = 0
    steps_target: int = 0
    budget_left: float | None = None
    privacy: dict | None = None

    def as_row(self) -> dict:
        """The metrics.csv row (METRIC_COLUMNS order)."""
        values = asdict(self)
        return {name: values[name] for name in METRIC_COLUMNS}



def privacy_words(privacy: dict | None) -> str:
    """'ε 1.23 of 3 (δ 1e-05)' and/or 'DCR share 0.52 (p 0.41, kept: step 350)': the privacy part of
    the progress line and of the Train page's live panel ('' when neither is on)."""
    if not privacy:
        return ""
    parts = []
    if privacy.get("epsilon") is not None:
        parts.append(f"ε {privacy['epsilon']:.2f} of {privacy['epsilon_target']:g} (δ {privacy['delta']:.1g})")
    if privacy.get("dcr_share") is not None:
        verdict = "memorises: not kept" if privacy.get("memorises") else "no memorisation"
        parts.append(f"DCR share {privacy['dcr_share']:.2f} (p {privacy['dcr_p_value']:.2f}, {verdict}; "
                     f"sampling from step {privacy.get('kept_step')})")
    return " | ".join(parts)
