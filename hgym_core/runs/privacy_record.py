"""run.json's "privacy" record in words, for where a user decides: the Compare page, report.html and
report.json, and the side-car schema JSON of a generated file. Importable without torch.

The record (``Trainer.privacy_record``) has two parts, each with "on":
``memorisation_guard`` (the test, the latest check, the step kept for sampling and why) and
``differential_privacy`` (ε spent and planned, δ, clip norm, noise multiplier, sampling rate, steps,
the accountant, what was treated as public and what the guarantee does not cover).
"""

from __future__ import annotations

import json

NO_RECORD = "not recorded (a run trained before the privacy record existed)"


def summary_rows(record: dict | None, report=None) -> list[tuple[str, str]]:
    """(item, value) rows: differential privacy, the guard, and the report's DCR share and
    membership-inference AUC beside them (when ``report``, an evaluation Report, has them)."""
    rows = []
    dp = (record or {}).get("differential_privacy")
    if record is None:
        rows.append(("Differential privacy", NO_RECORD))
    elif not dp or not dp.get("on"):
        rows.append(("Differential privacy", "off: no formal guarantee (train with dp_epsilon for one)"))
    else:
        rows += [
            ("Differential privacy", f"ε {dp['epsilon_spent']:.3g} spent of {dp['epsilon_target']:g}, δ {dp['delta']:.2g} "
                                     f"({dp['delta_rule']}), per {dp['unit']}"),
            ("Clip norm per patient", f"{dp['clip_norm']:g}"),
            ("Noise multiplier σ", f"{dp['noise_multiplier']:.4g}"),
            ("Sampling", f"{dp['sampling']}: rate {dp['sample_rate']:.3g} (expected batch {dp['expected_batch']} of "
                         f"{dp['patients']:,} patients)"),
            ("Private critic steps", f"{dp['steps']:,} of {dp['planned_steps']:,} planned"),
            ("Accountant", dp["accountant"]),
            ("Guarantee covers", dp["covers"]),
            ("Treated as public", "; ".join(dp["public"])),
            ("Not covered", "; ".join(dp["not_covered"])),
        ]
    guard = (record or {}).get("memorisation_guard")
    if guard is not None:
        if guard.get("on"):
            last = guard.get("last") or {}
            rows.append(("Memorisation guard", f"sampling from step {guard['kept_step']}: {guard['why']}; latest "
                                               f"DCR share {last.get('share', float('nan')):.3f} (p = "
                                               f"{last.get('p_value', float('nan')):.3f}); {guard['test']}"))
        else:
            rows.append(("Memorisation guard", f"off: {guard.get('why', '')}"))
    for name in ("DCR share", "membership inference AUC"):
        score = _score(report, name)
        if score is not None:
            rows.append((f"{name} (this comparison)", f"{score:.3f}"))
    return rows


def _score(report, name: str) -> float | None:
    for score in getattr(report, "scores", None) or ():
        if score.name == name and score.value is not None:
            return float(score.value)
    return None


def side_car_privacy(record: dict | None) -> dict:
    """The "privacy" entry of a generated file's side-car schema JSON: the run's ε and what it means."""
    dp = (record or {}).get("differential_privacy") or {}
    guard = (record or {}).get("memorisation_guard") or {}
    if not dp.get("on"):
        private = {"on": False, "meaning": "no formal privacy guarantee" if record is not None else NO_RECORD}
    else:
        private = {key: dp[key] for key in ("epsilon_spent", "epsilon_target", "delta", "clip_norm",
                                            "noise_multiplier", "sample_rate", "steps", "accountant", "unit")}
        private = {"on": True, **private, "covers": dp["covers"], "public": dp["public"]}
    return {"differential_privacy": private,
            "memorisation_guard": {key: guard.get(key) for key in ("on", "kept_step", "why", "test") if key in guard}}


def side_car(schema, record: dict | None) -> str:
    """A generated file's schema JSON with the run's privacy (ignored when loaded back as a schema)."""
    return json.dumps(schema.to_dict() | {"privacy": side_car_privacy(record)}, indent=2, ensure_ascii=False)


def one_line(record: dict | None) -> str:
    """'differential privacy: epsilon 2.99 (delta 1e-05)' or 'no differential privacy (no formal guarantee)'."""
    dp = (record or {}).get("differential_privacy") or {}
    if not dp.get("on"):
        return "no differential privacy (no formal guarantee)"
    return f"differential privacy: epsilon {dp['epsilon_spent']:.3g} of {dp['epsilon_target']:g} (delta {dp['delta']:.2g})"
