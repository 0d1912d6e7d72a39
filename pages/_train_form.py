"""Every TrainConfig setting as a widget with its help text, the widgets back as a TrainConfig, and
the presets fitted to the data.

The help text is the one TrainConfig carries (the command line shows the same). Values live in
the session's ``Train.setting`` slots (kept across page switches); a preset writes them all. A
preset is made for the built-in cohort's 60 months and thousands of patients: on other data its
curriculum and batch size are fitted to the patients the run trains on, and they follow the data
when it changes until the user types values of their own.
"""

from __future__ import annotations

import dataclasses

import streamlit as st
import torch

from hgym_core.errors import HGymError
from hgym_core.gan.config import CRITICS, DataSize, TrainConfig, preset
from pages._session import Slot, Train
# Shown at once; the rest sit in the "Advanced settings" expander.
BASIC = ("time_budget", "epochs", "max_patients", "holdout", "batch_size", "seed", "device", "dp_epsilon")
ADVANCED = ("hidden_dim", "latent_dim", "n_critic", "lambda_gp", "lambda_corr", "lr", "betas", "curriculum",
            "corr_cap", "critic", "pack", "marginal_start", "spread_start", "held_in_generator", "static_head", "static_weight", "gumbel_tau", "steady_labels", "held_labels", "ema_decay", "present_rows_only",
            "validation_every",
            "early_stop", "cpu_threads", "checkpoint_every", "checkpoint_seconds", "memorisation_guard", "dp_delta",
            "dp_clip", "dp_time_range")
LABELS = {
    "epochs": "Epochs", "max_patients": "Patients used for training (0 = all)",
    "holdout": "Holdout: share of patients kept out", "batch_size": "Batch size",
    "seed": "Seed", "device": "Device", "hidden_dim": "Hidden size", "latent_dim": "Latent size",
    "n_critic": "Critic steps per generator step", "lambda_gp": "Gradient penalty weight λ_GP",
    "lambda_corr": "Correlation loss weight λ_C", "lr": "Learning rate", "betas": "Adam betas",
    "curriculum": "Curriculum lengths (empty = automatic)", "corr_cap": "Cap correlations (blog variant)",
    "cpu_threads": "CPU threads (0 = torch's default)", "checkpoint_every": "Checkpoint every N epochs",
    "checkpoint_seconds": "Seconds between checkpoints (at least)",
    "time_budget": "Time budget in minutes (0 = train every epoch)", "static_head": "Static head (once per patient)",
    "static_weight": "Static critic weight", "critic": "Critic", "pack": "Patients per critic input (PacGAN)",
    "marginal_start": "Start at the marginals", "spread_start": "Start numbers at the real spread",
    "held_in_generator": "Generator carries held values", "ema_decay": "Averaged generator decay (0 = off)", "gumbel_tau": "Gumbel-softmax temperature (0 = softmax)",
    "steady_labels": "One Gumbel draw per patient", "held_labels": "Generator carries labels forward",
    "present_rows_only": "Hide rows after a patient's end", "validation_every": "Validate every N steps (0 = off)",
    "early_stop": "Stop after N validations without gain (0 = never)",
    "memorisation_guard": "Memorisation guard", "dp_epsilon": "Differential privacy ε (0 = off)",
    "dp_delta": "Differential privacy δ (0 = min(1e-5, 1/patients^1.1))", "dp_clip": "DP clip norm per patient",
    "dp_time_range": "DP public time range (first, last; empty = none)",
}
INTEGERS = ("epochs", "batch_size", "seed", "hidden_dim", "latent_dim", "n_critic", "checkpoint_every", "pack")
OPTIONAL_INTEGERS = ("max_patients", "cpu_threads", "validation_every", "early_stop")   # 0 in the widget means None
FLOATS = {"lambda_gp": "%.2f", "lambda_corr": "%.2f", "lr": "%.1e", "holdout": "%.2f", "static_weight": "%.2f",
          "checkpoint_seconds": "%.0f", "dp_clip": "%.2f"}
OPTIONAL_FLOATS = {"gumbel_tau": "%.2f", "time_budget": "%.1f", "ema_decay": "%.3f",   # 0 in the widget means None
                   "dp_epsilon": "%.2f", "dp_delta": "%.1e"}
FLOAT_STEPS = {"lr": 1e-4, "holdout": 0.05, "gumbel_tau": 0.05, "ema_decay": 0.01, "checkpoint_seconds": 10.0,
               "dp_epsilon": 0.5, "dp_delta": 1e-6, "dp_clip": 0.1}   # the others step by 1
CHECKBOXES = ("corr_cap", "marginal_start", "spread_start", "held_in_generator", "steady_labels", "held_labels", "static_head", "present_rows_only", "memorisation_guard")
SECONDS_PER_UNIT = {"time_budget": 60.0}   # the widget shows minutes, the setting holds seconds
FLOAT_MAX = {"holdout": 0.9, "ema_decay": 0.999}
# The settings a preset fits to the data (see fit_to_data).
FITTED = ("curriculum", "batch_size")
# Where the widget's unit is not the setting's (the command line's help speaks of seconds).
HELP = {"time_budget": "stop training after this many minutes of training (resumes included) and keep the "
                       "checkpoint reached; 0 = train all epochs"}


def help_text(name: str) -> str:
    return HELP.get(name) or next(f.metadata.get("help", "") for f in dataclasses.fields(TrainConfig)
                                  if f.name == name)


def slot(name: str) -> Slot:
    """The session slot of one widget: a setting, or "beta1" / "beta2" of the betas."""
    return Train.setting(name)


def device_choices() -> list[str]:
    return ["auto", "cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]


def dashboard_preset(name: str, size: DataSize | None = None) -> TrainConfig:
    """A preset fitted to the data (``size``, when the data can be read; ``gan.config.preset``),
    leaving one CPU core to the dashboard itself when it trains on the CPU."""
    config = preset(name, size)
    if config.cpu_threads is None and not torch.cuda.is_available():
        config = config.replace(cpu_threads=max(1, torch.get_num_threads() - 1))
    return config


def problems(config: TrainConfig, trained: int) -> list[str]:
    """What keeps ``config`` from working on data whose run would train on ``trained`` patients, with
    the fix (the curriculum against the longest patient is the core's check: ``service.plan``)."""
    if config.batch_size > trained:
        return [f"Setting 'batch_size' ({config.batch_size}) is more than the {trained:,} patients the run "
                f"trains on; set it to {trained:,} or less."]
    return []


def widget_values(config: TrainConfig) -> dict[str, object]:
    """The configuration as the widgets hold it, by widget name (betas are two widgets)."""
    values = {}
    for name in BASIC + ADVANCED:
        value = getattr(config, name)
        if name == "betas":
            values["beta1"], values["beta2"] = map(float, value)
        elif name in ("curriculum", "dp_time_range"):
            values[name] = ", ".join(f"{number:g}" for number in value or ())
        elif name in OPTIONAL_INTEGERS:
            values[name] = int(value or 0)
        elif name in OPTIONAL_FLOATS:
            values[name] = float(value or 0) / SECONDS_PER_UNIT.get(name, 1.0)
        elif name in FLOATS:
            values[name] = float(value)
        else:
            values[name] = value
    return values


def write_values(config: TrainConfig, names: tuple[str, ...] | None = None) -> None:
    """Put a configuration (or only its settings ``names``) into the widgets."""
    for name, value in widget_values(config).items():
        if names is None or name in names:
            slot(name).set(value)


def follow_data(name: str, size: DataSize | None) -> None:
    """Fit preset ``name`` to the data (``size``: the patients a run would train on, the longest of
    them; None when the data cannot be read yet): every setting when the preset was just chosen,
    else, when the data's size changed, the FITTED settings the user has not changed since the
    form wrote them."""
    basis = Train.form_basis.get()
    fitted_for = None if size is None else (size.patients, size.longest, size.static)
    config = dashboard_preset(name, size)
    if basis is None or basis[1] != name:
        write_values(config)
    elif basis[0] != fitted_for:
        written = basis[2]
        write_values(config, tuple(setting for setting in FITTED if slot(setting).get() == written.get(setting)))
    else:
        return
    Train.form_basis.set((fitted_for, name, {setting: slot(setting).get() for setting in FITTED}))


def draw(name: str) -> None:
    """One setting's widget in the current container."""
    label, help_ = LABELS[name], help_text(name)
    key = slot(name).key
    if name in INTEGERS or name in OPTIONAL_INTEGERS:
        minimum = 0 if name in OPTIONAL_INTEGERS or name == "seed" else 1
        st.number_input(label, min_value=minimum, step=1, key=key, help=help_)
    elif name in FLOATS or name in OPTIONAL_FLOATS:
        st.number_input(label, min_value=0.0, max_value=FLOAT_MAX.get(name), format={**FLOATS, **OPTIONAL_FLOATS}[name],
                        key=key, help=help_, step=FLOAT_STEPS.get(name, 1.0))
    elif name == "betas":
        first, second = st.columns(2)
        first.number_input("Adam beta 1", min_value=0.0, max_value=0.9999, format="%.4f", key=slot("beta1").key,
                           help=help_)
        second.number_input("Adam beta 2", min_value=0.0, max_value=0.9999, format="%.4f", key=slot("beta2").key,
                            help=help_)
    elif name == "curriculum":
        st.text_input(label, key=key, help=help_ + ". Type lengths separated by commas, e.g. 10, 20, 30.")
    elif name == "dp_time_range":
        st.text_input(label, key=key, help=help_ + ". Type two times separated by a comma, e.g. 0, 730.")
    elif name in CHECKBOXES:
        st.checkbox(label, key=key, help=help_)
    elif name == "critic":
        st.selectbox(label, CRITICS, key=key, help=help_)
    elif name == "device":
        if slot(name).get() not in device_choices():
            slot(name).set("auto")
        st.selectbox(label, device_choices(), key=key, help=help_)


def read_values() -> TrainConfig:
    """The widgets as a validated TrainConfig; HGymError naming the setting that is wrong."""
    values = {}
    for name in BASIC + ADVANCED:
        if name == "betas":
            values[name] = (slot("beta1").get(), slot("beta2").get())
        elif name == "curriculum":
            values[name] = _lengths(slot(name).get())
        elif name == "dp_time_range":
            values[name] = _times(slot(name).get())
        elif name in OPTIONAL_INTEGERS:
            values[name] = int(slot(name).get()) or None
        elif name in OPTIONAL_FLOATS:
            values[name] = float(slot(name).get()) * SECONDS_PER_UNIT.get(name, 1.0) or None
        else:
            values[name] = slot(name).get()
    return TrainConfig.from_dict(values)


def _numbers(text: str, kind: type, setting: str, example: str, empty_means: str) -> tuple | None:
    """The numbers a text field lists, separated by commas, semicolons or spaces; None when empty."""
    parts = [part for part in text.replace(";", ",").replace(" ", ",").split(",") if part]
    if not parts:
        return None
    try:
        return tuple(kind(part) for part in parts)
    except ValueError:
        raise HGymError(f"Setting '{setting}' must list {'whole numbers' if kind is int else 'numbers'} separated "
                        f"by commas, e.g. '{example}' (got {text!r}); leave it empty for {empty_means}.") from None


def _lengths(text: str) -> tuple[int, ...] | None:
    return _numbers(text, int, "curriculum", "10, 20, 30", "the automatic curriculum")


def _times(text: str) -> tuple[float, float] | None:
    return _numbers(text, float, "dp_time_range", "0, 730", "none")
