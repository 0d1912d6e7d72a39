"""Judging synthetic longitudinal patients against real ones (scores defined in METRICS.md).

``evaluate(real, synthetic, schema, holdout=None, seed=0)`` returns a ``Report``: one ``Score`` per
score and variable with its real-vs-holdout reference and a verdict, figure data and notes.
``collapsed_variables(real, synthetic, schema)`` names the variables a generator collapsed to
(nearly) one value; ``dose_lines(report.details)`` puts the point-mass and held-value shares in words.
"""

from hgym_core.evaluation.collapse import Collapse, collapsed_variables
from hgym_core.evaluation.doses import dose_lines
from hgym_core.evaluation.evaluator import evaluate
from hgym_core.evaluation.report import Report, Score, ScoreSpec
from hgym_core.evaluation.settings import GROUPS, EvaluationSettings

__all__ = ["GROUPS", "Collapse", "EvaluationSettings", "Report", "Score", "ScoreSpec", "collapsed_variables",
           "dose_lines", "evaluate"]
