"""Every TrainConfig setting as a widget with its help text, and the widgets back as a TrainConfig.

The help text is the one TrainConfig carries (the command line shows the same). Values live in
session state under ``train.<setting>`` so they survive page switches; a preset writes them all.
"""

from __future__ import annotations

import dataclasses

import streamlit as st
import torch

from hgym_core.gan.config import CRITICS, TrainConfig, preset
from hgym_core.errors import HGymError

PREFIX = "train."
# Shown at once; the rest sit in the "Advanced settings" expander.
BASIC = ("time_budget", "epochs", "max_patients", "holdout", "batch_size", "seed", "device")
ADVANCED = ("hidden_dim", "latent_dim", "n_critic", "lambda_gp", "lambda_corr", "lr", "betas", "curriculum",
            "corr_cap", "critic", "pack", "static_head", "static_weight", "gumbel_tau", "ema_decay", "present_rows_only",
            "validation_every",
            "early_stop", "cpu_threads", "checkpoint_every")
LABELS = {
    "epochs": "Epochs", "max_patients": "Patients used for training (0 = all)",
    "holdout": "Holdout: share of patients kept out", "batch_size": "Batch size",
    "seed": "Seed", "device": "Device", "hidden_dim": "Hidden size", "latent_dim": "Latent size",
    "n_critic": "Critic steps per generator step", "lambda_gp": "Gradient penalty weight λ_GP",
    "lambda_corr": "Correlation loss weight λ_C", "lr": "Learning rate", "betas": "Adam betas",
    "curriculum": "Curriculum lengths (empty = automatic)", "corr_cap": "Cap correlations (blog variant)",
    "cpu_threads": "CPU threads (0 = torch's default)", "checkpoint_every": "Checkpoint every N epochs",
    "time_budget": "Time budget in minutes (0 = train every epoch)", "static_head": "Static head (once per patient)",
    "static_weight": "Static critic weight", "critic": "Critic", "pack": "Patients per critic input (PacGAN)", "ema_decay": "Averaged generator decay (0 = off)", "gumbel_tau": "Gumbel-softmax temperature (0 = softmax)",
    "present_rows_only": "Hide rows after a patient's end", "validation_every": "Validate every N steps (0 = off)",
    "early_stop": "Stop after N validations without gain (0 = never)",
}
INTEGERS = ("epochs", "batch_size", "seed", "hidden_dim", "latent_dim", "n_critic", "checkpoint_every", "pack")
OPTIONAL_INTEGERS = ("max_patients", "cpu_threads", "validation_every", "early_stop")   # 0 in the widget means None
FLOATS = {"lambda_gp": "%.2f", "lambda_corr": "%.2f", "lr": "%.1e", "holdout": "%.2f", "static_weight": "%.2f"}
OPTIONAL_FLOATS = {"gumbel_tau": "%.2f", "time_budget": "%.1f", "ema_decay": "%.3f"}   # 0 in the widget means None
FLOAT_STEPS = {"lr": 1e-4, "holdout": 0.05, "gumbel_tau": 0.05, "ema_decay": 0.01}   # the others step by 1
CHECKBOXES = ("corr_cap", "static_head", "present_rows_only")
SECONDS_PER_UNIT = {"time_budget": 60.0}   # the widget shows minutes, the setting holds seconds
FLOAT_MAX = {"holdout": 0.9, "ema_decay": 0.999}


def help_text(name: str) -> str:
    return next(f.metadata.get("help", "") for f in dataclasses.fields(TrainConfig) if f.name == name)


def device_choices() -> list[str]:
    return ["auto", "cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]


def dashboard_preset(name: str) -> TrainConfig:
    """A preset, leaving one CPU core to the dashboard itself when it trains on the CPU."""
    config = preset(name)
    if config.cpu_threads is None and not torch.cuda.is_available():
        config = config.replace(cpu_threads=max(1, torch.get_num_threads() - 1))
    return config


def write_values(config: TrainConfig) -> None:
    """Put a configuration into the widgets (a preset being chosen, or the first visit)."""
    for name in BASIC + ADVANCED:
        value = getattr(config, name)
        if name == "betas":
            st.session_state[PREFIX + "beta1"], st.session_state[PREFIX + "beta2"] = map(float, value)
        elif name == "curriculum":
            st.session_state[PREFIX + name] = ", ".join(str(length) for length in value or ())
        elif name in OPTIONAL_INTEGERS:
            st.session_state[PREFIX + name] = int(value or 0)
        elif name in OPTIONAL_FLOATS:
            st.session_state[PREFIX + name] = float(value or 0) / SECONDS_PER_UNIT.get(name, 1.0)
        elif name in FLOATS:
            st.session_state[PREFIX + name] = float(value)
        else:
            st.session_state[PREFIX + name] = value


def draw(name: str) -> None:
    """One setting's widget in the current container."""
    label, help_ = LABELS[name], help_text(name)
    key = PREFIX + name
    if name in INTEGERS or name in OPTIONAL_INTEGERS:
        minimum = 0 if name in OPTIONAL_INTEGERS or name == "seed" else 1
        st.number_input(label, min_value=minimum, step=1, key=key, help=help_)
    elif name in FLOATS or name in OPTIONAL_FLOATS:
        st.number_input(label, min_value=0.0, max_value=FLOAT_MAX.get(name), format={**FLOATS, **OPTIONAL_FLOATS}[name],
                        key=key, help=help_, step=FLOAT_STEPS.get(name, 1.0))
    elif name == "betas":
        first, second = st.columns(2)
        first.number_input("Adam beta 1", min_value=0.0, max_value=0.9999, format="%.4f", key=PREFIX + "beta1",
                           help=help_)
        second.number_input("Adam beta 2", min_value=0.0, max_value=0.9999, format="%.4f", key=PREFIX + "beta2",
                            help=help_)
    elif name == "curriculum":
        st.text_input(label, key=key, help=help_ + ". Type lengths separated by commas, e.g. 10, 20, 30.")
    elif name in CHECKBOXES:
        st.checkbox(label, key=key, help=help_)
    elif name == "critic":
        st.selectbox(label, CRITICS, key=key, help=help_)
    elif name == "device":
        if st.session_state.get(key) not in device_choices():
            st.session_state[key] = "auto"
        st.selectbox(label, device_choices(), key=key, help=help_)


def read_values() -> TrainConfig:
    """The widgets as a validated TrainConfig; HGymError naming the setting that is wrong."""
    values = {}
    for name in BASIC + ADVANCED:
        if name == "betas":
            values[name] = (st.session_state[PREFIX + "beta1"], st.session_state[PREFIX + "beta2"])
        elif name == "curriculum":
            values[name] = _lengths(st.session_state[PREFIX + name])
        elif name in OPTIONAL_INTEGERS:
            values[name] = int(st.session_state[PREFIX + name]) or None
        elif name in OPTIONAL_FLOATS:
            values[name] = float(st.session_state[PREFIX + name]) * SECONDS_PER_UNIT.get(name, 1.0) or None
        else:
            values[name] = st.session_state[PREFIX + name]
    return TrainConfig.from_dict(values)


def _lengths(text: str) -> tuple[int, ...] | None:
    parts = [part for part in text.replace(";", ",").replace(" ", ",").split(",") if part]
    if not parts:
        return None
    try:
        return tuple(int(part) for part in parts)
    except ValueError:
        raise HGymError(f"Setting 'curriculum' must list whole numbers separated by commas, e.g. '10, 20, 30' "
                        f"(got {text!r}); leave it empty for the automatic curriculum.") from None
