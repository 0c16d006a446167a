"""report.html from a metrics report: charts, size against budget, settings."""
import numpy as np

from components.evaluator import report

STAGES = [
    {"name": "mlp", "kind": "l1", "split": "oof", "gap": 0.61, "hit_at_1": 0.7, "perr": 0.5, "map": 0.1, "videos": 90},
    {"name": "stack", "kind": "stack", "split": "holdout", "gap": 0.66, "hit_at_1": 0.75, "perr": 0.55,
     "map": 0.12, "videos": 10},
    {"name": "student", "kind": "student", "split": "holdout", "gap": 0.64, "hit_at_1": 0.72, "perr": 0.52,
     "map": 0.11, "videos": 10},
]
METRICS = {"stages": STAGES, "blessing": {"blessed": True, "reason": "student 0.64 >= 0.9 x 0.61"}}


def test_report_shows_every_stage_size_and_settings():
    frequency = np.array([100, 10, 1, 0])
    ap = {"stack": np.array([0.9, 0.5, 0.1, 0.0]), "student": np.array([0.8, 0.4, 0.0, 0.0])}
    precisions = {"float16": {"saved_model_bytes": 125_000_000, "holdout_gap": 0.6401},
                  "float32": {"saved_model_bytes": 250_000_000, "holdout_gap": 0.6402}}
    page = report.render_report(METRICS, frequency, ap, 250_000_000, {"max_model_bytes": 10**9, "note": "<b>"},
                                precisions)
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 3
    assert "No per-epoch validation GAP was recorded." in page
    for stage in STAGES:
        assert f"{stage['name']} · {stage['split']}" in page and f"{stage['gap']:.4f}" in page
    assert "250,000,000 bytes of a 1,000,000,000-byte budget (25.0%)" in page
    assert "<td>float16</td><td>125,000,000</td><td>0.6401</td>" in page
    # Three classes with training labels, two stages: six points; the unseen class is not drawn.
    assert page.count("<circle") == 6
    assert "&lt;b&gt;" in page and "<b>\"" not in page  # settings are escaped


def test_a_student_over_budget_is_drawn_as_such():
    bar = report.size_bar(2 * 10**9, 10**9)
    assert "#e45756" in bar and "200.0%" in bar


def test_summary_lists_every_stage_in_order_with_the_blessing():
    summary = report.render_summary(METRICS)
    lines = summary.splitlines()
    assert lines[0] == "**Blessed**: student 0.64 >= 0.9 x 0.61"
    assert lines[2:4] == ["| stage | kind | split | GAP@20 | videos |", "|---|---|---|---:|---:|"]
    assert lines[4:] == ["| mlp | l1 | oof | 0.6100 | 90 |", "| stack | stack | holdout | 0.6600 | 10 |",
                         "| student | student | holdout | 0.6400 | 10 |"]


def test_scalar_metrics_name_every_stage_and_split():
    assert report.scalar_metrics(METRICS) == {"gap20_mlp_oof": 0.61, "gap20_stack_holdout": 0.66,
                                              "gap20_student_holdout": 0.64, "blessed": 1.0}


def test_validation_curves_draw_one_line_per_fold_and_mark_the_kept_epoch():
    folds = [{"fold": 0, "val_gaps": [0.50, 0.60, 0.58]}, {"fold": 1, "val_gaps": [0.52, 0.55, 0.61, 0.60]}]
    page = report.render_report(METRICS, np.array([1]), {}, None, {}, fold_summaries={"mlp": folds, "old": [{}]})
    curves = page[page.index("Validation GAP per epoch"):page.index("Student size")]
    assert curves.count("<polyline") == 2 and curves.count("<circle") == 2
    assert "mlp: validation GAP@20 by epoch (0.5000 to 0.6100)" in curves and "old:" not in curves
    # Fold 1's best (0.61, epoch 3 of 4) lies on the top edge, at x = margin + 2/3 of the width.
    assert f'cx="{report.MARGIN + report.CURVE_WIDTH * 2 / 3:.1f}" cy="20.0"' in curves


def test_component_times_go_before_the_settings_slowest_first():
    page = report.render_report(METRICS, np.array([1]), {}, None, {})
    timed = report.with_component_times(page, {"Pusher": 1.0, "L1Trainer-mlp-fold-0": 60.0, "LGBMStacker": 39.0})
    section = timed[timed.index("Where the run's time went"):timed.index(report.SETTINGS_HEADING)]
    assert section.index("L1Trainer-mlp-fold-0") < section.index("LGBMStacker") < section.index("Pusher")
    assert "3 components ran, 100 s in all" in section and "60 s (60%)" in section
    assert "Every component was reused from cache." in report.with_component_times(page, {})
