"""Beam arguments per runner: the user's replace the defaults as Beam reads them, every
runner is explicit, and every Beam pipeline of the product takes its arguments from here."""
import ast
import pathlib

import pytest
from apache_beam.options.pipeline_options import PipelineOptions, PortableOptions, StandardOptions

from common.errors import UserError
from pipeline import beam_options
from pipeline.beam_options import BEAM_ARGS_BY_RUNNER, beam_args, kubeflow_beam_args, local_dag_beam_args

REPO = pathlib.Path(__file__).resolve().parent.parent
REQUIRED = {"local": [], "local-multiprocess": [], "portable": ["--job_endpoint=jobs:8099"],
            "dataflow": ["--project=p", "--region=r", "--temp_location=gs://b/tmp"]}


def portable_options(args: list[str]) -> PortableOptions:
    return PipelineOptions(args).view_as(PortableOptions)


def test_portable_defaults_to_the_flink_sidecar_worker_pool():
    options = portable_options(beam_args("portable", ["--job_endpoint=jobs:8099"]))
    assert (options.environment_type, options.environment_config) == ("EXTERNAL", "localhost:50000")
    assert options.job_endpoint == "jobs:8099"


@pytest.mark.parametrize("extra, expected", [
    # Another pool: still EXTERNAL; the default address is gone, not merely overridden.
    (["--environment_config=pool:50001"], ("EXTERNAL", "pool:50001", None)),
    (["--environment_type=LOOPBACK"], ("LOOPBACK", None, None)),
    (["--environment_option=external_service_address=pool:7"], ("EXTERNAL", None, ["external_service_address=pool:7"])),
    (["--environment_type", "DOCKER", "--environment_config=beam:py"], ("DOCKER", "beam:py", None)),
])
def test_the_users_environment_replaces_the_default_pool(extra, expected):
    args = beam_args("portable", ["--job_endpoint=jobs:8099", *extra])
    options = portable_options(args)
    assert (options.environment_type, options.environment_config, options.environment_options) == expected
    if expected[1] is None:
        assert not any(arg.startswith("--environment_config") for arg in args)


def test_the_users_value_replaces_the_default_in_any_spelling():
    args = beam_args("portable", ["--job_endpoint=jobs:8099", "--job-server-timeout", "5"])
    assert "--job_server_timeout=60" not in args and portable_options(args).job_server_timeout == 5
    args = beam_args("local", ["--direct_num_workers=2"])
    assert args.count("--direct_num_workers=1") == 0 and PipelineOptions(args).get_all_options()["direct_num_workers"] == 2


def test_options_beam_does_not_know_are_passed_on():
    assert beam_args("portable", ["--job_endpoint=j:1", "--flink_parallelism=4"])[-1] == "--flink_parallelism=4"


@pytest.mark.parametrize("runner, extra, message", [
    ("portable", [], "Beam runner 'portable' needs --job_endpoint=... (pass each with --beam-arg)"),
    ("dataflow", ["--project=p"], "Beam runner 'dataflow' needs --region=..., --temp_location=..."),
    ("portable", ["--job_endpoint=j:1", "--runner=FlinkRunner"], "the Beam runner is chosen with --beam-runner"),
    ("direct", [], "unknown Beam runner 'direct'"),
])
def test_bad_beam_arguments_are_one_line(runner, extra, message):
    with pytest.raises(UserError, match="^" + message.replace("(", r"\(").replace(")", r"\)")
                       .replace(".", r"\.")):
        beam_args(runner, extra)


@pytest.mark.parametrize("runner", sorted(BEAM_ARGS_BY_RUNNER))
def test_every_runner_is_named_explicitly(runner):
    """Beam's default DirectRunner would try Prism first, which downloads a binary."""
    for args in (beam_args(runner, REQUIRED[runner]), local_dag_beam_args(runner, REQUIRED[runner]),
                 kubeflow_beam_args(runner, "y8m:1", REQUIRED[runner])):
        assert PipelineOptions(args).view_as(StandardOptions).runner in ("FnApiRunner", "PortableRunner",
                                                                         "DataflowRunner")


def test_workers_that_import_the_installed_code_spare_tfx_its_package_build():
    image = "--sdk_container_image="
    assert beam_options.WORKERS_HAVE_THE_CODE in local_dag_beam_args("portable", REQUIRED["portable"])
    assert f"{image}y8m:1" in kubeflow_beam_args("portable", "y8m:1", REQUIRED["portable"])
    # A Docker environment installs what is staged: TFX's package is needed there.
    docker = [*REQUIRED["portable"], "--environment_type=DOCKER"]
    assert not any(arg.startswith(image) for arg in local_dag_beam_args("portable", docker))
    assert not any(arg.startswith(image) for arg in kubeflow_beam_args("portable", "y8m:1", docker))
    # The user's own image is kept.
    mine = [*REQUIRED["dataflow"], f"{image}mine:2"]
    assert [arg for arg in kubeflow_beam_args("dataflow", "y8m:1", mine) if arg.startswith(image)] == [f"{image}mine:2"]


# Where the product builds Beam pipelines or options, and what each is for. TFX's Beam
# components build theirs from the pipeline's beam_pipeline_args (create_pipeline's
# required argument), which the local and Kubeflow runners take from beam_options.
BEAM_CONSTRUCTIONS = {
    ("y8m/predict.py", "Pipeline"): 1,  # argv: beam_args(...) of `y8m predict` and `y8m demo`
    ("pipeline/beam_options.py", "PipelineOptions"): 2,  # reading arguments, running nothing
}
BEAM_CONSTRUCTORS = {"Pipeline", "PipelineOptions", "TestPipeline"}
PRODUCT = ("common", "schemas", "models", "components", "pipeline", "y8m")


def beam_constructions(tree: ast.AST) -> list[str]:
    """The Beam pipelines and options a module's code builds (`beam.Pipeline(...)`, or a
    constructor imported from apache_beam), by constructor name."""
    beam_modules, beam_names = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            beam_modules |= {alias.asname or alias.name for alias in node.names if alias.name.startswith("apache_beam")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("apache_beam"):
            beam_names |= {alias.asname or alias.name for alias in node.names}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Name) and function.id in beam_names and function.id in BEAM_CONSTRUCTORS:
            found.append(function.id)
        elif isinstance(function, ast.Attribute) and function.attr in BEAM_CONSTRUCTORS:
            root = function.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and (root.id in beam_modules or root.id in beam_names):
                found.append(function.attr)
    return found


def test_every_beam_pipeline_of_the_product_is_built_where_its_arguments_are_known():
    found = {}
    for path in sorted(path for package in PRODUCT for path in (REPO / package).rglob("*.py")):
        if path.name.endswith("_test.py"):
            continue
        for name in beam_constructions(ast.parse(path.read_text())):
            key = (str(path.relative_to(REPO)), name)
            found[key] = found.get(key, 0) + 1
    assert found == BEAM_CONSTRUCTIONS


def test_the_scan_sees_each_way_of_building_a_beam_pipeline():
    tree = ast.parse("import apache_beam as beam\n"
                     "from apache_beam.options.pipeline_options import PipelineOptions\n"
                     "from apache_beam.testing.test_pipeline import TestPipeline\n"
                     "from tfx.orchestration import pipeline as tfx_pipeline\n"
                     "beam.Pipeline()\nPipelineOptions([])\nTestPipeline()\ntfx_pipeline.Pipeline()\n")
    assert beam_constructions(tree) == ["Pipeline", "PipelineOptions", "TestPipeline"]
