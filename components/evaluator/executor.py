"""GapEvaluator's executor: one call into components/evaluator/evaluate.py (docs/design.md, "Component shape")."""
import json

from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from components import model_inputs
from components.evaluator import evaluate, report


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        single = artifact_utils.get_single_instance
        evaluate.evaluate_run(single(input_dict["split_examples"]), model_inputs.model_artifacts(input_dict),
                              single(input_dict["stack_predictions"]), single(input_dict["student_predictions"]),
                              single(input_dict["student_model"]), single(output_dict["metrics"]),
                              single(output_dict["blessing"]),
                              {key: single(output_dict[key]) for key in report.DISPLAY_NAMES},
                              exec_properties["num_folds"], exec_properties["num_classes"],
                              exec_properties["min_gap_ratio"], exec_properties["min_gap_over_prior"],
                              json.loads(exec_properties["settings"]))
