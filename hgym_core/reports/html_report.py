"""One self-contained HTML page per evaluation: the score table, the notes and every figure.

plotly.js is embedded once, inline, so ``report.html`` opens offline (no CDN, no server) and
can be mailed or archived with the data it describes. The figures are the ones the dashboard's
Compare page shows (``hgym_core.plots``).
"""

from __future__ import annotations

import html
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from hgym_core import plots
from hgym_core.errors import HGymError
from hgym_core.evaluation.doses import dose_lines
from hgym_core.runs.privacy_record import summary_rows

REPORT_HTML = "report.html"
REPORT_JSON = "report.json"
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
COLOURED_VERDICTS = ("good", "fair", "poor")   # "n/a" stays uncoloured

FigureMaker = Callable[[], go.Figure]

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #222; }
main { max-width: 1280px; margin: 0 auto; padding: 1.5rem 2rem 4rem; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.5rem; border-bottom: 2px solid #ddd; }
nav a { margin-right: 1rem; } .muted { color: #666; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 0.5rem 0 1rem; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 0.3rem 0.7rem; text-align: left; }
th { background: #f4f4f4; } td.number { text-align: right; font-variant-numeric: tabular-nums; }
td.verdict-good { background: #dcefe3; } td.verdict-fair { background: #fbefd2; }
td.verdict-poor { background: #f6d6d0; font-weight: 600; }
.figure { margin: 1rem 0 2rem; } .figure-error { color: #a33; }
dt { font-weight: 600; margin-top: 0.6rem; } dd { margin-left: 1.5rem; }
"""


def render(report, real: pd.DataFrame, synthetic: pd.DataFrame, schema, holdout: pd.DataFrame | None = None,
           title: str = "Synthetic patients: evaluation report", n_patients: int = 5, seed: int = 0) -> str:
    """The whole report as one HTML string (plotly.js inline, in the first figure only)."""
    sections = [
        ("overview", "Overview", _table_html(report.overview())),
        ("scores", "All scores", _table_html(report.summary())),
        ("notes", "Notes", _notes_html(report)),
        ("doses", "Point masses and held values", _dose_lines_html(report)),
        ("training-privacy", "Privacy of the training run", _training_privacy_html(report)),
    ]
    include_js = True
    for anchor, heading, makers in figure_sections(real, synthetic, schema, getattr(report, "details", {}) or {},
                                                   n_patients, seed):
        parts = []
        for figure_id, maker in makers:
            parts.append(_figure_html(figure_id, maker, include_js))
            include_js = include_js and "plotly-graph-div" not in parts[-1]
        sections.append((anchor, heading, "\n".join(parts)))
    sections.append(("definitions", "Score definitions", _definitions_html(report)))
    sections = [(anchor, heading, body) for anchor, heading, body in sections if body]
    navigation = " ".join(f'<a href="#{anchor}">{html.escape(heading)}</a>' for anchor, heading, _ in sections)
    body = "\n".join(f'<section id="{anchor}"><h2>{html.escape(heading)}</h2>\n{content}</section>'
                     for anchor, heading, content in sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<h1>{html.escape(title)}</h1>
<p class="muted">{html.escape(_data_description(schema, real, synthetic, holdout))}</p>
<nav>{navigation}</nav>
{body}
</main>
</body>
</html>
"""


def write_report(directory: str | os.PathLike, report, real: pd.DataFrame, synthetic: pd.DataFrame, schema,
                 holdout: pd.DataFrame | None = None, **options) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.json`` into ``directory`` (created), each atomically."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise HGymError(f"'{directory}' is a file; give --out a folder for report.json and report.html.")
    directory.mkdir(parents=True, exist_ok=True)
    html_path, json_path = directory / REPORT_HTML, directory / REPORT_JSON
    _replace_atomically(html_path, lambda tmp: tmp.write_text(
        render(report, real, synthetic, schema, holdout, **options), encoding="utf-8"))
    _replace_atomically(json_path, report.to_json)
    return html_path, json_path


def _replace_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Write to a temporary sibling, then rename: a crash never leaves half a file under ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------- figures

def figure_sections(real: pd.DataFrame, synthetic: pd.DataFrame, schema, details: Mapping,
                    n_patients: int = 5, seed: int = 0) -> list[tuple[str, str, list[tuple[str, FigureMaker]]]]:
    """(anchor, heading, [(figure id, maker)]) for every figure the report shows, in order.

    Static variables (constant within a patient) get no over-time figure: it would be flat.
    Dose-like numeric variables (a point mass at 0, or one holding ≥ 30% of the real rows) also
    get on/off bands: the share of patients "on" at each step.
    """
    variables = list(schema.variables)
    numeric = [v for v in variables if v.kind == "numeric"]
    doses = plots.dose_like_variables(real, schema)
    changing_categories = [v for v in variables if v.kind != "numeric" and not v.static]
    changing = [v for v in variables if not v.static]

    def make(function, *args, **kwargs) -> FigureMaker:
        return lambda: function(*args, **kwargs)

    sections = [
        ("distributions", f"Distributions (all {plots.rows_noun(schema)})",
         [(f"distribution-{v.name}", make(plots.distribution_figure, real, synthetic, schema, v.name))
          for v in variables]),
        ("time-bands", "Over time: median and inter-quartile range",
         [(f"time-band-{v.name}", make(plots.time_band_figure, real, synthetic, schema, v.name))
          for v in numeric]),
        ("dose-bands", "Over time: share on (dose-like variables)",
         [(f"dose-bands-{name}", make(plots.dose_bands_figure, real, synthetic, schema, name)) for name in doses]),
        ("category-shares", "Over time: category shares",
         [(f"category-shares-{v.name}", make(plots.category_share_over_time_figure, real, synthetic, schema, v.name))
          for v in changing_categories]),
        ("correlations", "Correlations",
         [("correlations", make(plots.correlation_heatmaps_figure, real, synthetic, schema))]),
        ("trajectories", "Example patients",
         [(f"trajectories-{v.name}", make(plots.trajectories_comparison_figure, real, synthetic, schema, v.name,
                                          n_patients=n_patients, seed=seed))
          for v in changing]),
    ]
    privacy = details.get("privacy", {})  # Report.details is keyed by score family
    if privacy.get("dcr_train") is not None:
        sections.append(("privacy", "Privacy: distance to closest record",
                         [("dcr", make(plots.dcr_histogram_figure, privacy["dcr_train"], privacy.get("dcr_holdout")))]))
    return [section for section in sections if section[2]]


def _figure_html(figure_id: str, maker: FigureMaker, include_js: bool) -> str:
    """One figure's div (and plotly.js when ``include_js``); a figure that cannot be drawn says why."""
    div_id = "figure-" + re.sub(r"[^A-Za-z0-9_-]+", "-", figure_id).strip("-")
    try:
        figure = maker()
    except HGymError as problem:
        return f'<p class="figure-error" id="{div_id}">Figure {html.escape(figure_id)} could not be drawn: ' \
               f'{html.escape(str(problem))}</p>'
    div = figure.to_html(full_html=False, include_plotlyjs=include_js, div_id=div_id, config=PLOTLY_CONFIG)
    return f'<div class="figure">{div}</div>'


# --------------------------------------------------------------------------- tables and text

def _table_html(frame: pd.DataFrame) -> str:
    """A score table: numbers to 3 significant digits, verdict cells coloured."""
    if frame.empty:
        return '<p class="muted">No scores.</p>'
    header = "".join(f"<th>{html.escape(str(column))}</th>" for column in frame.columns)
    classes = [_column_class(frame[column]) for column in frame.columns]
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, css, value in zip(frame.columns, classes, record):
            if column == "verdict":
                css = f"verdict-{value}" if value in COLOURED_VERDICTS else ""
            attribute = f' class="{css}"' if css else ""
            cells.append(f"<td{attribute}>{html.escape(_format(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{header}</tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>"


def _column_class(column: pd.Series) -> str:
    """Numbers align right (by column, so a missing value does not change a column's look)."""
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    return "number" if numeric else ""


def _format(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _notes_html(report) -> str:
    notes = list(getattr(report, "notes", []) or [])
    return "<ul>" + "".join(f"<li>{html.escape(str(note))}</li>" for note in notes) + "</ul>" if notes else ""


def _dose_lines_html(report) -> str:
    """Each numeric variable's point-mass shares and held-value share, real vs synthetic, in words."""
    lines = dose_lines(getattr(report, "details", {}) or {})
    items = "".join(f"<li>{html.escape(line)}</li>" for variable_lines in lines.values() for line in variable_lines)
    return f"<ul>{items}</ul>" if items else ""


def _training_privacy_html(report) -> str:
    """The run's differential privacy (ε, δ, clip norm, noise multiplier, what was public) and guard,
    beside this report's DCR share and membership-inference AUC, when the report knows its run
    (``meta["training_privacy"]``: ``evaluate --run``)."""
    meta = getattr(report, "meta", None) or {}
    if "training_privacy" not in meta:
        return ""
    rows = summary_rows(meta["training_privacy"], report)
    body = "".join(f"<tr><th>{html.escape(item)}</th><td>{html.escape(value)}</td></tr>" for item, value in rows)
    return f"<table><tbody>{body}</tbody></table>"


def _definitions_html(report) -> str:
    """What each score measures, from the report's score specs (when it carries them)."""
    specs = getattr(report, "specs", None) or {}
    items = "".join(f"<dt>{html.escape(name)}</dt><dd>{html.escape(spec.definition)}</dd>"
                    for name, spec in specs.items())
    return f"<dl>{items}</dl>" if items else ""


def _data_description(schema, real, synthetic, holdout) -> str:
    def describe(name: str, df: pd.DataFrame) -> str:
        patients = f"{df[schema.id_column].nunique():,} patients, " if schema.id_column in df.columns else ""
        return f"{name}: {patients}{len(df):,} rows"

    parts = [describe("real (training)", real), describe("synthetic", synthetic)]
    if holdout is not None:
        parts.append(describe("holdout", holdout))
    return "; ".join(parts) + f"; {len(schema.variables)} variables."
