"""Beam pipeline arguments per runner, in one place.

Local runs pin the in-process FnApiRunner: Beam 2.77's default DirectRunner first tries
the Prism runner, which downloads a binary at run time. On Kubeflow the Beam steps run
inside their task's pod (`local`, `local-multiprocess`) or on a distributed runner:
`portable` (a Flink or Spark job server with a Python SDK worker pool beside each task
manager; give `--job_endpoint`) or `dataflow` (give `--project`, `--region`,
`--temp_location`); see kubernetes/README.md.
"""
from common.errors import UserError

BEAM_ARGS_BY_RUNNER = {
    "local": ["--runner=FnApiRunner", "--direct_running_mode=in_memory", "--direct_num_workers=1"],
    "local-multiprocess": ["--runner=FnApiRunner", "--direct_running_mode=multi_processing",
                           "--direct_num_workers=0"],
    "portable": ["--runner=PortableRunner", "--environment_type=EXTERNAL",
                 "--environment_config=localhost:50000"],
    "dataflow": ["--runner=DataflowRunner", "--experiments=use_runner_v2"],
}
# What a distributed runner cannot do without: the user's cluster or project.
REQUIRED_ARGS = {"portable": ["--job_endpoint"], "dataflow": ["--project", "--region", "--temp_location"]}
# TFX packages its own installation as an sdist for the workers of every Beam component (a
# `setup.py sdist` subprocess, about 3 s each) unless the arguments say where the workers'
# code comes from. FnApiRunner's workers are this process or its subprocesses, which import
# the same installation, and it reads no container image: naming one spares the build.
FN_API_RUNNERS = ("local", "local-multiprocess")
WORKERS_HAVE_THE_CODE = "--sdk_container_image=unused-by-fn-api-runner"


def beam_args(runner: str, extra: list[str] | None = None) -> list[str]:
    if runner not in BEAM_ARGS_BY_RUNNER:
        raise UserError(f"unknown Beam runner '{runner}'; known: {sorted(BEAM_ARGS_BY_RUNNER)}")
    extra = list(extra or [])
    missing = [flag for flag in REQUIRED_ARGS.get(runner, [])
               if not any(arg.startswith(flag + "=") for arg in extra)]
    if missing:
        raise UserError(f"Beam runner '{runner}' needs {', '.join(f + '=...' for f in missing)} "
                        "(pass each with --beam-arg)")
    return BEAM_ARGS_BY_RUNNER[runner] + extra


def kubeflow_beam_args(runner: str, image: str, extra: list[str] | None = None) -> list[str]:
    """Beam arguments of the Kubeflow tasks. Dataflow workers run the project image, so
    they import the same code; naming it also keeps TFX from building a package per step."""
    args = beam_args(runner, extra)
    if runner == "dataflow" and not any(arg.startswith("--sdk_container_image=") for arg in args):
        args.append(f"--sdk_container_image={image}")
    return args


def local_dag_beam_args(runner: str) -> list[str]:
    """Beam arguments of the Beam components of a LocalDagRunner run."""
    args = beam_args(runner)
    return args + [WORKERS_HAVE_THE_CODE] if runner in FN_API_RUNNERS else args
