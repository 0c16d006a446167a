"""report.html: one self-contained page (inline SVG, no scripts) about a run.

GAP@20 of every stage by split (a bar chart), each L1 model's validation GAP per epoch
(one line per fold), the student's SavedModel size against the budget, per-class AP on
the held-out split against the class's frequency in the training folds (a scatter
plot), and the run's settings. A local run adds where its time went, component by
component (`with_component_times`: the evaluator runs before the run ends).
"""
import html
import json
import math

import numpy as np

from schemas import splits

REPORT_FILE = "report.html"
# The names the Kubeflow Pipelines UI shows for the outputs it renders (ML Metadata's
# `display_name`, which the UI requires of them).
DISPLAY_NAMES = {"report": "Run report", "summary": "GAP@20 by stage", "scalars": "GAP@20"}
SPLIT_COLOURS = {splits.OOF: "#4c78a8", splits.HOLDOUT: "#f58518", splits.TEST: "#54a24b"}
STAGE_COLOURS = {"stack": "#4c78a8", "student": "#e45756"}
BAR_HEIGHT, LABEL_WIDTH, CHART_WIDTH = 14, 220, 420
PLOT_WIDTH, PLOT_HEIGHT, MARGIN = 560, 300, 40
CURVE_WIDTH, CURVE_HEIGHT = 260, 150
FOLD_COLOURS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d")
SETTINGS_HEADING = "<h2>Settings</h2>"


def stage_order(stage: dict) -> tuple:
    """L1 models first, then the stack, then the student; by name, then split."""
    return {"l1": 0, "stack": 1, "student": 2}[stage["kind"]], stage["name"], stage["split"]


def gap_bar_chart(stages: list[dict]) -> str:
    """Horizontal bars, one per (stage, split), grouped by stage."""
    rows = sorted(stages, key=stage_order)
    height = BAR_HEIGHT * len(rows) + 30
    parts = [f'<svg width="{LABEL_WIDTH + CHART_WIDTH + 60}" height="{height}" role="img" '
             'aria-label="GAP@20 by stage and split">']
    for index, stage in enumerate(rows):
        y = 20 + index * BAR_HEIGHT
        width = CHART_WIDTH * stage["gap"]
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 11}" text-anchor="end" font-size="11">'
                     f'{html.escape(stage["name"])} · {stage["split"]}</text>')
        parts.append(f'<rect x="{LABEL_WIDTH}" y="{y + 1}" width="{width:.1f}" height="{BAR_HEIGHT - 3}" '
                     f'fill="{SPLIT_COLOURS.get(stage["split"], "#888")}"/>')
        parts.append(f'<text x="{LABEL_WIDTH + width + 4:.1f}" y="{y + 11}" font-size="11">{stage["gap"]:.4f}</text>')
    parts.append(f'<text x="{LABEL_WIDTH}" y="12" font-size="11">GAP@20 (0 to 1); colours: '
                 + ", ".join(f'<tspan fill="{colour}">{split}</tspan>' for split, colour in SPLIT_COLOURS.items())
                 + "</text></svg>")
    return "".join(parts)


def size_bar(model_bytes: int | None, budget_bytes: int) -> str:
    if model_bytes is None:
        return "<p>No student size was recorded.</p>"
    fraction = model_bytes / budget_bytes
    width = CHART_WIDTH * min(fraction, 1.0)
    colour = "#54a24b" if fraction <= 1 else "#e45756"
    return (f'<svg width="{CHART_WIDTH + 2}" height="22" role="img" aria-label="model size against budget">'
            f'<rect x="1" y="1" width="{CHART_WIDTH}" height="20" fill="none" stroke="#333"/>'
            f'<rect x="1" y="1" width="{width:.1f}" height="20" fill="{colour}"/></svg>'
            f"<p>{model_bytes:,} bytes of a {budget_bytes:,}-byte budget ({fraction:.1%}).</p>")


def per_class_scatter(frequency: np.ndarray, ap_by_stage: dict[str, np.ndarray]) -> str:
    """Held-out AP of each class with training positives, against log10 of that count."""
    seen = np.flatnonzero(frequency > 0)
    if seen.size == 0:
        return "<p>No class has training labels.</p>"
    log_max = max(math.log10(frequency.max()), 1.0)
    parts = [f'<svg width="{PLOT_WIDTH + 2 * MARGIN}" height="{PLOT_HEIGHT + 2 * MARGIN}" role="img" '
             'aria-label="per-class AP against class frequency">',
             f'<rect x="{MARGIN}" y="{MARGIN}" width="{PLOT_WIDTH}" height="{PLOT_HEIGHT}" fill="none" stroke="#333"/>']
    for decade in range(int(log_max) + 1):
        x = MARGIN + PLOT_WIDTH * decade / log_max
        parts.append(f'<text x="{x:.1f}" y="{MARGIN + PLOT_HEIGHT + 14}" font-size="10" '
                     f'text-anchor="middle">{10 ** decade:,}</text>')
    for tick in (0.0, 0.5, 1.0):
        y = MARGIN + PLOT_HEIGHT * (1 - tick)
        parts.append(f'<text x="{MARGIN - 4}" y="{y + 3:.1f}" font-size="10" text-anchor="end">{tick}</text>')
    for stage, ap in ap_by_stage.items():
        colour = STAGE_COLOURS.get(stage, "#888")
        for c in seen:
            x = MARGIN + PLOT_WIDTH * math.log10(frequency[c]) / log_max
            y = MARGIN + PLOT_HEIGHT * (1 - ap[c])
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.6" fill="{colour}" fill-opacity="0.5"/>')
    parts.append(f'<text x="{MARGIN + PLOT_WIDTH / 2}" y="{MARGIN + PLOT_HEIGHT + 30}" font-size="11" '
                 'text-anchor="middle">training videos with the class (log scale)</text>')
    parts.append(f'<text x="{MARGIN}" y="{MARGIN - 8}" font-size="11">held-out AP per class: '
                 + ", ".join(f'<tspan fill="{STAGE_COLOURS.get(s, "#888")}">{html.escape(s)}</tspan>'
                             for s in ap_by_stage) + "</text></svg>")
    return "".join(parts)


def validation_curves(fold_summaries: dict[str, list[dict]]) -> str:
    """Per L1 model, its validation GAP@20 after every epoch, one line per fold (the
    trainers' fold summaries); the kept epoch of each fold is a dot."""
    charts = []
    for name, folds in sorted(fold_summaries.items()):
        curves = [fold.get("val_gaps") or [] for fold in folds]
        values = [gap for curve in curves for gap in curve]
        if not values:
            continue
        low, high = min(values), max(values)
        span, epochs = max(high - low, 1e-6), max(max(len(curve) for curve in curves), 2)

        def point(epoch: int, gap: float) -> str:
            return (f"{MARGIN + CURVE_WIDTH * epoch / (epochs - 1):.1f},"
                    f"{20 + CURVE_HEIGHT * (high - gap) / span:.1f}")

        parts = [f'<svg width="{CURVE_WIDTH + 2 * MARGIN}" height="{CURVE_HEIGHT + 50}" role="img" '
                 f'aria-label="validation GAP per epoch of {html.escape(name)}">',
                 f'<text x="{MARGIN}" y="12" font-size="11">{html.escape(name)}: validation GAP@20 by epoch '
                 f'({low:.4f} to {high:.4f})</text>',
                 f'<rect x="{MARGIN}" y="20" width="{CURVE_WIDTH}" height="{CURVE_HEIGHT}" fill="none" stroke="#333"/>',
                 f'<text x="{MARGIN}" y="{CURVE_HEIGHT + 34}" font-size="10">1</text>',
                 f'<text x="{MARGIN + CURVE_WIDTH}" y="{CURVE_HEIGHT + 34}" font-size="10" '
                 f'text-anchor="end">epoch {epochs}</text>']
        for fold, curve in enumerate(curves):
            if not curve:
                continue
            colour = FOLD_COLOURS[fold % len(FOLD_COLOURS)]
            parts.append(f'<polyline points="{" ".join(point(e, g) for e, g in enumerate(curve))}" '
                         f'fill="none" stroke="{colour}" stroke-width="1.5"/>')
            best = int(np.argmax(curve))
            x, y = point(best, curve[best]).split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{colour}"/>')
        parts.append("</svg>")
        charts.append("".join(parts))
    if not charts:
        return "<p>No per-epoch validation GAP was recorded.</p>"
    return "<p>One line per fold (colours: fold 0, 1, …); a dot marks the epoch kept.</p>" + "".join(charts)


def component_times(seconds_by_component: dict[str, float]) -> str:
    """Where a run's time went: each component that ran, slowest first, as bars."""
    if not seconds_by_component:
        return "<p>Every component was reused from cache.</p>"
    ordered = sorted(seconds_by_component.items(), key=lambda item: -item[1])
    total, longest = sum(seconds_by_component.values()), ordered[0][1] or 1.0
    parts = [f'<svg width="{LABEL_WIDTH + CHART_WIDTH + 110}" height="{BAR_HEIGHT * len(ordered) + 10}" '
             'role="img" aria-label="seconds per component">']
    for index, (component, seconds) in enumerate(ordered):
        y = 5 + index * BAR_HEIGHT
        width = CHART_WIDTH * seconds / longest
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 11}" text-anchor="end" font-size="11">'
                     f'{html.escape(component)}</text>'
                     f'<rect x="{LABEL_WIDTH}" y="{y + 1}" width="{width:.1f}" height="{BAR_HEIGHT - 3}" '
                     'fill="#4c78a8"/>'
                     f'<text x="{LABEL_WIDTH + width + 4:.1f}" y="{y + 11}" font-size="11">{seconds:,.0f} s '
                     f'({seconds / total:.0%})</text>')
    parts.append("</svg>")
    return (f"<p>{len(ordered)} components ran, {total:,.0f} s in all (components side by side overlap, "
            "so the sum can exceed the run's wall time).</p>" + "".join(parts))


def with_component_times(page: str, seconds_by_component: dict[str, float]) -> str:
    """The report with a section on where the run's time went, before its settings."""
    section = f"<h2>Where the run's time went</h2>\n{component_times(seconds_by_component)}\n"
    return page.replace(SETTINGS_HEADING, section + SETTINGS_HEADING, 1)


def precision_table(precisions: dict) -> str:
    """The student's export per weights dtype: size and held-out GAP (Distiller's record)."""
    if not precisions:
        return ""
    rows = "".join(f"<tr><td>{html.escape(dtype)}</td><td>{scored['saved_model_bytes']:,}</td>"
                   f"<td>{scored['holdout_gap']:.4f}</td></tr>" for dtype, scored in sorted(precisions.items()))
    return f"<table><tr><th>weights</th><th>SavedModel bytes</th><th>held-out GAP@20</th></tr>{rows}</table>"


def render_report(metrics_report: dict, frequency: np.ndarray, ap_by_stage: dict[str, np.ndarray],
                  model_bytes: int | None, settings: dict, precisions: dict | None = None,
                  fold_summaries: dict[str, list[dict]] | None = None) -> str:
    """`fold_summaries`: each L1 model's fold summaries (L1Trainer's), for the training curves."""
    blessing = metrics_report["blessing"]
    budget = int(settings.get("max_model_bytes", 10**9))
    rows = "".join(
        f"<tr><td>{html.escape(s['name'])}</td><td>{s['kind']}</td><td>{s['split']}</td>"
        f"<td>{s['gap']:.4f}</td><td>{s['hit_at_1']:.4f}</td><td>{s['perr']:.4f}</td>"
        f"<td>{s['map']:.4f}</td><td>{s['videos']:,}</td></tr>" for s in metrics_report["stages"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>y8m-pipeline run report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}td:first-child{{text-align:left}}
pre{{background:#f6f6f6;padding:1em;overflow:auto}}</style></head><body>
<h1>Run report</h1>
<p><b>Blessing:</b> {"blessed" if blessing["blessed"] else "not blessed"}: {html.escape(blessing["reason"])}</p>
<h2>GAP@20 of every stage</h2>
{gap_bar_chart(metrics_report["stages"])}
<table><tr><th>stage</th><th>kind</th><th>split</th><th>GAP@20</th><th>Hit@1</th><th>PERR</th><th>MAP</th>
<th>videos</th></tr>{rows}</table>
<p>The student is scored on held-out and test only: its soft targets came from teachers
that saw every fold. Second-round L1 models (trained on soft labels) likewise.</p>
<h2>Validation GAP per epoch of every L1 model</h2>
{validation_curves(fold_summaries or {})}
<h2>Student size against the budget</h2>
{size_bar(model_bytes, budget)}
{precision_table(precisions or {})}
<h2>Per-class AP against class frequency</h2>
{per_class_scatter(frequency, ap_by_stage)}
{SETTINGS_HEADING}
<pre>{html.escape(json.dumps(settings, indent=2, sort_keys=True))}</pre>
</body></html>
"""


def render_summary(metrics_report: dict) -> str:
    """A short Markdown summary: the blessing and GAP@20 of every stage on every split."""
    blessing = metrics_report["blessing"]
    rows = "".join(f"| {s['name']} | {s['kind']} | {s['split']} | {s['gap']:.4f} | {s['videos']:,} |\n"
                   for s in sorted(metrics_report["stages"], key=stage_order))
    return (f"**{'Blessed' if blessing['blessed'] else 'Not blessed'}**: {blessing['reason']}\n\n"
            "| stage | kind | split | GAP@20 | videos |\n|---|---|---|---:|---:|\n" + rows)


def scalar_metrics(metrics_report: dict) -> dict[str, float]:
    """GAP@20 of every stage on every split, and the blessing (1 or 0), by name: what the
    Kubeflow Pipelines UI lists and compares between runs."""
    scalars = {f"gap20_{s['name']}_{s['split']}": float(s["gap"]) for s in metrics_report["stages"]}
    scalars["blessed"] = float(metrics_report["blessing"]["blessed"])
    return scalars
