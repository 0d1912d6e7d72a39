"""Judging synthetic longitudinal patients against real ones (scores defined in METRICS.md).

``evaluate(real, synthetic, schema, holdout=None, seed=0)`` returns a ``Report``: one ``Score`` per
score and variable with its real-vs-holdout reference and a verdict, figure data and notes.
"""

from hgym_core.evaluation.evaluator import evaluate
from hgym_core.evaluation.report import Report, Score, ScoreSpec
from hgym_core.evaluation.settings import GROUPS, EvaluationSettings

__all__ = ["GROUPS", "EvaluationSettings", "Report", "Score", "ScoreSpec", "evaluate"]
