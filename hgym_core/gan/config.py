"""Training configuration: every hyperparameter in one dataclass.

Defaults are the published Health Gym v1 values (HEALTH_GYM_V1.md, "Training"); presets
change only what they must and say why.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from hgym_core.errors import HGymError


def setting(default, help: str):
    """A field whose help text the command line (and the dashboard) show next to it."""
    return field(default=default, metadata={"help": help})


CRITICS = ("lstm", "mlp")


@dataclass
class TrainConfig:
    epochs: int = setting(100, "passes over the data, each running every curriculum length (published: 100, "
                               "then resumed for 100 more)")
    batch_size: int = setting(256, "patients per batch, B (published: 256)")
    n_critic: int = setting(5, "critic updates per generator update, on the same real batch (published: 5)")
    lambda_gp: float = setting(10.0, "weight of the gradient penalty, lambda_GP (published: 10)")
    lambda_corr: float = setting(10.0, "weight of the correlation loss, lambda_C (published: 10)")
    latent_dim: int = setting(128, "noise values per time step fed to the generator (published: 128)")
    hidden_dim: int = setting(128, "width of the LSTMs and dense layers of both networks (published: 128)")
    lr: float = setting(1e-3, "Adam learning rate of both networks (published: 1e-3)")
    betas: tuple[float, float] = setting((0.9, 0.99), "Adam betas (published: 0.9 0.99)")
    # None derives the curriculum from the longest patient (10, 20, ..., 60 for 60 months).
    curriculum: tuple[int, ...] | None = setting(None, "sequence lengths trained in turn in each epoch; 'none' = "
                                                       "six stages up to the longest patient (10 20 ... 60)")
    # The blog variant caps both correlation matrices at a random level u ~ U(0, 1).
    corr_cap: bool = setting(False, "cap both correlation matrices at a random level u ~ U(0, 1) (blog variant)")
    seed: int = setting(0, "random seed: the same seed, data and device give the same run")
    # "auto" picks CUDA when present, else the CPU; "cpu", "cuda" or "cuda:1" force one.
    device: str = setting("auto", "'auto' (CUDA when present, else the CPU), 'cpu', 'cuda' or 'cuda:N'")
    # None leaves torch's default; the CPU has few cores and a UI thread needs one too.
    cpu_threads: int | None = setting(None, "CPU threads for training; 'none' = torch's default")
    checkpoint_every: int = setting(1, "save a checkpoint every N epochs (also on stop and at the end)")
    # Many short epochs (the auto preset on a small table) would otherwise save several times a second.
    checkpoint_seconds: float = setting(60.0, "least training time between two epoch checkpoints, in seconds (stop "
                                              "and the end always save); 0 = after every checkpoint_every epochs")
    # Train on a random subset of patients (None = all); the quick preset uses this.
    max_patients: int | None = setting(None, "train on a seeded random subset of this many patients; 'none' = all")
    # Beyond Health Gym v1 (off in the published preset); docs/training.md, "Options beyond Health Gym v1".
    static_head: bool = setting(False, "generate static variables, the first visit's time and each patient's length "
                                       "once per patient, judged by a critic of their own (as DoppelGANger does)")
    gumbel_tau: float | None = setting(None, "draw each one-hot block as a Gumbel-softmax sample at this temperature "
                                             "(e.g. 0.2, as CTGAN) instead of a softmax; 'none' = softmax (published)")
    steady_labels: bool = setting(False, "with gumbel_tau: draw each patient's Gumbel noise once and keep it over its "
                                         "time steps, so a label changes where the generator's logits move, not "
                                         "where fresh noise flips a near-tie from month to month")
    held_labels: bool = setting(False, "the generator carries each time-varying label forward between gates of its "
                                       "own, which start at the label's real change rate (a regimen that is "
                                       "switched now and then, not redrawn every month)")
    critic: str = setting("lstm", "'lstm' = Health Gym's critic (published); 'mlp' = a multilayer perceptron over the "
                                  "whole sequence (as DoppelGANger): many times faster")
    marginal_start: bool = setting(False, "start the generator at the data's marginals (its output biases set to "
                                          "each category's log share and each number's mean) instead of at random")
    spread_start: bool = setting(False, "start each number the generator writes at the real one's spread (its "
                                        "hidden layers rescaled to unit variance over its noise, each number's "
                                        "output to the real codes' mean and SD) instead of at an untrained "
                                        "network's near point mass, which training hardly widens")
    held_in_generator: bool = setting(False, "the generator carries a held number forward itself (value = changed x "
                                             "new + (1 - changed) x previous, the flag set as the encoding sets it "
                                             "next to empty cells), so the critic sees held values in real and "
                                             "synthetic rows alike")
    pack: int = setting(1, "PacGAN: the critic judges this many patients at once, so it sees a generator that "
                           "makes the same patient again and again (needs critic 'mlp'); 1 = one at a time")
    ema_decay: float | None = setting(None, "sample from an exponential moving average of the generator's weights "
                                            "with this decay per step (e.g. 0.99): GAN weights oscillate, their "
                                            "average does not; 'none' = the last weights (published)")
    static_weight: float = setting(1.0, "weight of the static critic's loss beside the sequence critic's")
    present_rows_only: bool = setting(False, "hide the rows after a patient's end from the critic and the "
                                             "correlation loss (patients of different lengths)")
    time_budget: float | None = setting(None, "stop training after this many seconds of training (resumes "
                                              "included); 'none' = train all epochs")
    validation_every: int | None = setting(None, "every N generator steps, score a sample of synthetic patients "
                                                 "against the training data and keep the best generator for "
                                                 "sampling; 'none' = off")
    early_stop: int | None = setting(None, "stop when that score has not improved for this many validations "
                                           "(needs validation_every); 'none' = never")
    # Kept out before max_patients picks its subset; the run records both sides (patients.json).
    holdout: float = setting(0.2, "share of patients kept out of training (a seeded split) so the privacy scores "
                                  "can compare with patients the model never saw; 0 = train on all (the published "
                                  "run, preset health-gym), at most 0.9")
    # Privacy (docs/privacy.md; hgym_core/gan/memorisation.py and privacy.py).
    memorisation_guard: bool = setting(False, "at each validation also compare synthetic patients with equally many "
                                              "training and holdout patients (DCR share, a permutation test) and "
                                              "never keep for sampling a generator that memorises (works with "
                                              "validation_every and a holdout; off without them)")
    dp_epsilon: float | None = setting(None, "differential privacy: train the critics with patient-level DP-SGD "
                                             "and stop when this privacy budget epsilon is spent (e.g. 3 or 10); "
                                             "'none' = no formal guarantee")
    dp_delta: float | None = setting(None, "differential privacy's delta; 'none' = min(1e-5, 1 / patients^1.1)")
    dp_clip: float = setting(1.0, "differential privacy: each patient's gradient is clipped to this norm")
    dp_time_range: tuple[float, float] | None = setting(None, "differential privacy on irregular times: the public "
                                                              "first and last possible time (e.g. 0 730 days), "
                                                              "instead of the table's own range")

    def validate(self) -> "TrainConfig":
        """Raise HGymError naming the first impossible setting and how to fix it."""
        positive_ints = ("epochs", "batch_size", "n_critic", "latent_dim", "hidden_dim", "checkpoint_every")
        for name in positive_ints:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise HGymError(f"Setting '{name}' must be a whole number of at least 1 (got {value!r}).")
        for name in ("lambda_gp", "lambda_corr"):
            if getattr(self, name) < 0:
                raise HGymError(f"Setting '{name}' must be 0 or more (got {getattr(self, name)!r}).")
        if not self.lr > 0:
            raise HGymError(f"Setting 'lr' (learning rate) must be above 0 (got {self.lr!r}); 1e-3 is the published value.")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise HGymError(f"Setting 'betas' must be two numbers in [0, 1) (got {self.betas!r}); (0.9, 0.99) is published.")
        if self.curriculum is not None and (not self.curriculum or any(int(L) < 1 for L in self.curriculum)):
            raise HGymError(f"Setting 'curriculum' must list sequence lengths of at least 1 (got {self.curriculum!r}).")
        if self.cpu_threads is not None and self.cpu_threads < 1:
            raise HGymError(f"Setting 'cpu_threads' must be at least 1 or empty (got {self.cpu_threads!r}).")
        if self.max_patients is not None and self.max_patients < 2:
            raise HGymError(f"Setting 'max_patients' must be at least 2 or empty (got {self.max_patients!r}).")
        if self.gumbel_tau is not None and not self.gumbel_tau > 0:
            raise HGymError(f"Setting 'gumbel_tau' must be above 0 or empty (got {self.gumbel_tau!r}); 0.2 is CTGAN's.")
        if self.critic not in CRITICS:
            raise HGymError(f"Setting 'critic' must be one of {list(CRITICS)} (got {self.critic!r}).")
        if not isinstance(self.pack, int) or self.pack < 1 or (self.pack > 1 and self.critic != "mlp"):
            raise HGymError(f"Setting 'pack' must be a whole number of at least 1, and above 1 only with critic "
                            f"'mlp' (got pack {self.pack!r}, critic {self.critic!r}).")
        if self.ema_decay is not None and not 0 < self.ema_decay < 1:
            raise HGymError(f"Setting 'ema_decay' must be between 0 and 1, or empty (got {self.ema_decay!r}); "
                            "0.99 averages over about the last 100 steps.")
        if self.static_weight < 0:
            raise HGymError(f"Setting 'static_weight' must be 0 or more (got {self.static_weight!r}).")
        if not self.checkpoint_seconds >= 0:
            raise HGymError(f"Setting 'checkpoint_seconds' must be 0 or more seconds (got {self.checkpoint_seconds!r}); "
                            "60 saves at most once a minute.")
        if self.time_budget is not None and not self.time_budget > 0:
            raise HGymError(f"Setting 'time_budget' must be a number of seconds above 0, or empty "
                            f"(got {self.time_budget!r}); e.g. 600 for ten minutes.")
        for name in ("validation_every", "early_stop"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise HGymError(f"Setting '{name}' must be a whole number of at least 1, or empty (got {value!r}).")
        if self.early_stop is not None and self.validation_every is None:
            raise HGymError("Setting 'early_stop' needs 'validation_every' (how often to score the generator); "
                            "set both, e.g. validation_every 50 and early_stop 5.")
        _validate_privacy(self)
        if not (self.holdout == 0 or 0 < self.holdout <= 0.9):
            raise HGymError(f"Setting 'holdout' must be 0 (train on every patient) or a share above 0 and at most "
                            f"0.9 (got {self.holdout!r}); 0.2 keeps a fifth of the patients out.")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise HGymError(f"Unknown training setting(s) {unknown}; known settings are {sorted(known)}.")
        values = dict(values)
        if values.get("betas") is not None:
            values["betas"] = tuple(values["betas"])
        if values.get("curriculum") is not None:
            values["curriculum"] = tuple(int(L) for L in values["curriculum"])
        if values.get("dp_time_range") is not None:
            values["dp_time_range"] = tuple(float(t) for t in values["dp_time_range"])
        return cls(**values).validate()

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes).validate()


# What reads the training patients outside differential privacy's accounted steps (docs/privacy.md):
# each must be off under dp_epsilon, or the guarantee would not cover what it learnt from them.
DP_OFF = {
    "validation_every": ("validation and the best-generator choice score the generator against training "
                         "patients", None),
    "early_stop": ("early stopping follows that validation score", None),
    "marginal_start": ("the marginal start reads every patient's means", False),
    "spread_start": ("the spread start fits each number's output to the patients' spread", False),
    "max_patients": ("the subset of patients depends on the others' positions in the table", None),
}


def _validate_privacy(config: "TrainConfig") -> None:
    if config.dp_epsilon is None:
        if config.dp_time_range is not None or config.dp_delta is not None:
            raise HGymError("Settings 'dp_delta' and 'dp_time_range' belong to differential privacy; set "
                            "'dp_epsilon' too (e.g. 3), or leave them empty.")
        return
    if not config.dp_epsilon > 0:
        raise HGymError(f"Setting 'dp_epsilon' must be above 0, or empty for no differential privacy "
                        f"(got {config.dp_epsilon!r}); 3 is strong, 10 is weaker.")
    if config.dp_delta is not None and not 0 < config.dp_delta < 1:
        raise HGymError(f"Setting 'dp_delta' must be between 0 and 1, e.g. 1e-5, or empty for min(1e-5, "
                        f"1 / patients^1.1) (got {config.dp_delta!r}).")
    if not config.dp_clip > 0:
        raise HGymError(f"Setting 'dp_clip' must be above 0 (got {config.dp_clip!r}); 1 is usual.")
    time_range = config.dp_time_range
    if time_range is not None and (len(time_range) != 2 or not time_range[0] < time_range[1]):
        raise HGymError(f"Setting 'dp_time_range' must be two times, the first below the second (got "
                        f"{time_range!r}), e.g. 0 730.")
    off = [f"{name} ({why})" for name, (why, _) in DP_OFF.items() if getattr(config, name) not in (None, False)]
    if config.lambda_corr != 0:
        off.append("lambda_corr (the correlation loss compares with the training patients' correlations): set 0")
    if config.pack != 1:
        off.append("pack (PacGAN mixes patients in one critic input, so one patient's gradient is not its own): "
                   "set 1")
    if off:
        raise HGymError("Differential privacy (dp_epsilon) covers only what the critics learn in its accounted "
                        "steps; turn off what reads the training patients otherwise: " + "; ".join(off) + ".")
    if not config.curriculum:
        raise HGymError("Differential privacy needs the 'curriculum' set: its longest length is the public bound "
                        "on a patient's length (patients are cut to it), e.g. 60 for a 60-month study.")


# A time-budgeted run has no step count to calibrate the noise to, so differential privacy plans
# ``epochs``: auto's ceiling becomes this many (docs/privacy.md, "Steps").
DP_AUTO_EPOCHS = 50


def private_preset(config: "TrainConfig", changes: dict) -> "TrainConfig":
    """``config`` (a preset) with ``changes`` (the user's settings, dp_epsilon among them), and what
    differential privacy cannot have turned off where the user did not set it: validation, the
    guard, the marginal start, ... (``DP_OFF``), the correlation loss, PacGAN; auto's epoch ceiling
    becomes ``DP_AUTO_EPOCHS``. What the user set explicitly is kept, so ``validate`` names it."""
    defaults = {name: off for name, (_, off) in DP_OFF.items()} | {"lambda_corr": 0.0, "pack": 1,
                                                                   "memorisation_guard": False}
    if config.epochs == AUTO_EPOCHS:
        defaults["epochs"] = DP_AUTO_EPOCHS
    values = {name: value for name, value in defaults.items() if name not in changes}
    return dataclasses.replace(config, **values, **changes).validate()


# Settings a resume may change: they alter neither the models nor the random streams.
RESUMABLE_SETTINGS = ("epochs", "checkpoint_every", "checkpoint_seconds", "device", "cpu_threads", "time_budget",
                      "validation_every", "early_stop")

def check_resume_changes(saved: TrainConfig, wanted: TrainConfig) -> None:
    """HGymError if ``wanted`` changes a setting other than RESUMABLE_SETTINGS from the run's ``saved`` ones."""
    changed = [f.name for f in dataclasses.fields(TrainConfig)
               if f.name not in RESUMABLE_SETTINGS and getattr(saved, f.name) != getattr(wanted, f.name)]
    if changed:
        raise HGymError(f"Resuming keeps the run's settings; only {', '.join(RESUMABLE_SETTINGS)} may change, "
                        f"not {', '.join(changed)}. Start a new run to change them.")


# "health-gym" is the paper. "quick" shows a CPU user recognisable learning on the built-in cohort
# in about five minutes (measured with benchmarks/quick_preset.py; docs/training.md, "Presets"): networks of
# width 32 (~1/16 of the LSTM arithmetic), batches of 64 (cheap steps, four times the generator
# updates per patient), a seeded subset of 1,024 patients (48 steps an epoch), three curriculum
# stages that still end at the full 60 months (samples are generated at the length trained), and
# 10 epochs. Everything else (losses, n_critic, lambdas, Adam) stays as published.
# Both keep to the paper's patients: "health-gym" trains on all of them (holdout 0, as published);
# "quick" keeps the default holdout 0.2, which costs it nothing on the built-in cohort (1,024 of the
# 7,133 training-side patients are trained on either way) and gives Compare its privacy scores.
# "auto" (the default) is for a user's own table: its settings follow the table and a time budget
# (``auto_config``).
PRESETS: dict[str, TrainConfig] = {
    "health-gym": TrainConfig(holdout=0.0),
    "quick": TrainConfig(epochs=10, batch_size=64, hidden_dim=32, latent_dim=32, curriculum=(10, 30, 60),
                         max_patients=1024),
}
PRESET_NAMES = ("auto", *PRESETS)
DEFAULT_PRESET = "auto"
DEFAULT_TIME_BUDGET = 600.0   # seconds: "auto" trains ten minutes unless told otherwise


@dataclass(frozen=True)
class DataSize:
    """What a preset needs to know of a table: how many patients it trains on, the longest one, and
    whether it has values held once per patient (static variables, lengths or first times that vary)."""

    patients: int
    longest: int
    static: bool = True


def preset(name: str, data: DataSize | None = None, time_budget: float | None = None) -> TrainConfig:
    """A preset's settings, fitted to ``data`` when given (``fit_to_data``), and ``auto``'s picked from
    the table and ``time_budget`` (seconds; default ten minutes)."""
    if name == "auto":
        config = auto_config(data, DEFAULT_TIME_BUDGET if time_budget is None else time_budget)
    elif name in PRESETS:
        config = dataclasses.replace(PRESETS[name])
        if time_budget is not None:
            config = config.replace(time_budget=time_budget)
    else:
        raise HGymError(f"Unknown preset '{name}'; choose one of {list(PRESET_NAMES)}.")
    return config if data is None else fit_to_data(config, data)


def fit_to_data(config: TrainConfig, data: DataSize) -> TrainConfig:
    """``config`` made to work on ``data``: a fixed curriculum scaled to its longest patient (in
    proportion, each stage at least 1, the last one the longest; ``quick``'s 10/30/60 becomes 3/8/16
    on 16-step patients), and a batch larger than the patients trained on shrunk to them."""
    changes = {}
    if config.curriculum is not None and max(config.curriculum) > data.longest:
        top = max(config.curriculum)
        changes["curriculum"] = tuple(sorted({max(1, math.ceil(length * data.longest / top))
                                              for length in config.curriculum}))
    if config.batch_size > data.patients:
        changes["batch_size"] = max(1, data.patients)
    return config.replace(**changes) if changes else config


def auto_config(data: DataSize | None, time_budget: float) -> TrainConfig:
    """Settings for a user's own table, trained for ``time_budget`` seconds (docs/training.md, "Presets").

    Beyond Health Gym v1, each measured on the real tables of benchmarks/quality.py: the static
    head, padding hidden from the critic, an averaged generator, Adam β1 0.5 (as DoppelGANger),
    the best generator by validation kept for sampling, no correlation loss, Gumbel-softmax blocks
    at τ 0.2 (as CTGAN: a plain softmax drifted to each block's commonest class, lengths above
    all), two critic steps per generator step, numbers started at the real spread and held values
    carried forward by the generator (docs/doses.md). Batches grow with the cohort (a quarter of it,
    16 to 128 patients; ``preset`` shrinks them to fewer), so a small table still gets many steps;
    the curriculum is the full length only (short tables gain nothing from shorter stages).
    """
    patients = data.patients if data is not None else 256
    batch = int(min(128, max(16, patients // 4)))   # ``preset`` then fits it to fewer patients
    longest = data.longest if data is not None else None
    return TrainConfig(
        epochs=AUTO_EPOCHS, batch_size=batch, hidden_dim=64, latent_dim=32, betas=(0.5, 0.9), lambda_corr=0.0,
        critic="mlp", n_critic=2, gumbel_tau=0.2, marginal_start=True, spread_start=True, held_in_generator=True,
        curriculum=None if longest is None else (longest,), static_head=data is None or data.static,
        present_rows_only=True,
        ema_decay=0.99, time_budget=time_budget, validation_every=AUTO_VALIDATION_EVERY, memorisation_guard=True)


# "auto" trains for its time budget; the epochs are only a ceiling it should never reach.
AUTO_EPOCHS = 1_000_000
AUTO_VALIDATION_EVERY = 50
EARLY_STOP_PATIENCE = 10   # validations without a better score before `--early-stop` ends training


def describe_choice(name: str, config: TrainConfig, data: DataSize | None) -> str:
    """One sentence saying what a preset chose, for the command line and the Train page."""
    budget = "no time budget" if config.time_budget is None else f"a time budget of {config.time_budget / 60:g} min"
    shape = "" if data is None else f" for {data.patients:,} patients on the training side, of up to {data.longest} steps"
    lengths = "derived from the longest patient" if config.curriculum is None else \
        ", ".join(str(length) for length in config.curriculum)
    extras = [label for flag, label in ((config.static_head, "static head"),
                                        (config.gumbel_tau is not None, f"Gumbel-softmax at {config.gumbel_tau}"),
                                        (config.steady_labels and config.gumbel_tau is not None,
                                         "one Gumbel draw per patient"),
                                        (config.held_labels, "labels carried forward by the generator"),
                                        (config.present_rows_only, "padding hidden from the critic"),
                                        (config.marginal_start, "generator started at the marginals"),
                                        (config.spread_start, "numbers started at the real spread"),
                                        (config.held_in_generator, "held values carried forward by the generator"),
                                        (config.ema_decay is not None, f"averaged generator ({config.ema_decay})"),
                                        (config.validation_every is not None,
                                         f"best generator by validation every {config.validation_every} steps"),
                                        (config.memorisation_guard and config.validation_every is not None,
                                         "memorisation guard"),
                                        (config.dp_epsilon is not None,
                                         f"differential privacy at epsilon {config.dp_epsilon or 0:g}"))
              if flag]
    return (f"Preset '{name}'{shape}: batch {config.batch_size}, hidden {config.hidden_dim}, curriculum {lengths}, "
            f"Adam betas {tuple(config.betas)}, correlation weight {config.lambda_corr:g}, {budget}"
            + (f"; {', '.join(extras)}" if extras else "") + ".")
