"""Which components the parallel runner launches together (a run of it: tests/test_pipeline_e2e.py)."""
import os

from tfx.dsl.compiler import compiler

from pipeline.parallel_runner import ready_nodes
from pipeline.pipeline import assembler_id, create_pipeline, trainer_id
from pipeline.profile import load_profile

# Two first-round models and one second-round model (trained on the stack's soft labels).
TINY_PROFILE = os.path.join(os.path.dirname(__file__), os.pardir, "tests", "tiny_profile.yaml")


def compiled(profile):
    graph = create_pipeline(pipeline_name="p", pipeline_root="/root", profile=profile,
                            labelled_patterns=["/data/train*"], test_patterns=["/data/test*"], input_fingerprint="",
                            serving_model_dir="/serving", beam_pipeline_args=[])
    return compiler.Compiler().compile(graph)


def waves(pipeline_ir) -> list[set[str]]:
    """The nodes launched together when every launched node finishes before the next wave."""
    nodes = [node.pipeline_node for node in pipeline_ir.nodes]
    finished, result = set(), []
    while len(finished) < len(nodes):
        wave = ready_nodes(nodes, finished, launched=finished)
        assert wave, "no node is ready: the graph has a cycle"
        result.append(set(wave))
        finished.update(wave)
    return result


def test_folds_models_and_student_networks_run_side_by_side():
    profile = load_profile(TINY_PROFILE)
    assert [model.name for model in profile.second_round_models] == ["mlp_soft"]
    assert waves(compiled(profile)) == [
        {"VideoExampleGen"},
        {"FoldSplitter"},
        {trainer_id(name, fold) for name in ("mlp", "resnet_like") for fold in range(profile.folds)},
        {assembler_id("mlp"), assembler_id("resnet_like")},
        {"PredictionMerger"},
        {"LGBMStacker"},
        {"SoftLabelIndexer"},
        {"StudentTransform", *(trainer_id("mlp_soft", fold) for fold in range(profile.folds))},
        {assembler_id("mlp_soft"), *(f"StudentTrainer-{index}" for index in range(len(profile.student.networks())))},
        {"Distiller"},
        {"GapEvaluator"},
        {"Pusher"},
    ]


def test_a_node_waits_for_every_upstream_node_and_runs_once():
    nodes = [node.pipeline_node for node in compiled(load_profile("quick")).nodes]
    all_but_one_fold = {trainer_id("mlp", fold) for fold in range(4)} | {"VideoExampleGen", "FoldSplitter"}
    ready = ready_nodes(nodes, finished=all_but_one_fold, launched=all_but_one_fold | {trainer_id("mlp", 4)})
    assert assembler_id("mlp") not in ready and trainer_id("mlp", 4) not in ready
    assert trainer_id("resnet_like", 0) in ready
