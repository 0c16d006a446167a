"""Beam pipeline arguments per runner, in one place.

Every Beam pipeline of the product takes its arguments from here, each with an explicit
runner: Beam 2.77's default DirectRunner first tries the Prism runner, which downloads a
binary at run time. Local runs pin the in-process FnApiRunner. `portable` sends each Beam
job through Beam's portability API to a job service (`--job_endpoint`: Flink's or Spark's
job server, or Beam's own local one), whose SDK workers run in an external worker pool:
by default the one at localhost:50000, the Python worker pool beside each Flink task
manager (kubernetes/beam-flink.yaml); `--environment_config=HOST:PORT` names another, and
`--environment_type` another kind of environment. `dataflow` needs `--project`,
`--region` and `--temp_location`. See kubernetes/README.md, "Beam runners".

The user's arguments replace the defaults of the options they set, whatever their
spelling (Beam's own parser reads them): a repeated flag would otherwise leave the choice
to Beam's parser, which keeps the last value of most options and every value of a few.
"""
import argparse
import contextlib

from common.errors import UserError, error_chain

BEAM_ARGS_BY_RUNNER = {
    "local": ["--runner=FnApiRunner", "--direct_running_mode=in_memory", "--direct_num_workers=1"],
    "local-multiprocess": ["--runner=FnApiRunner", "--direct_running_mode=multi_processing",
                           "--direct_num_workers=0"],
    # Beam's own default job service timeout is 300 s: that long before a missing job
    # service is reported.
    "portable": ["--runner=PortableRunner", "--environment_type=EXTERNAL",
                 "--environment_config=localhost:50000", "--job_server_timeout=60"],
    "dataflow": ["--runner=DataflowRunner", "--experiments=use_runner_v2"],
}
# What a distributed runner cannot do without: the user's cluster or project (Beam's
# option names, as flags without the leading dashes).
REQUIRED_OPTIONS = {"portable": ["job_endpoint"], "dataflow": ["project", "region", "temp_location"]}
# Options that together say where the workers run; the default address belongs to the
# default EXTERNAL environment, so any of them set by the user drops it.
ENVIRONMENT_OPTIONS = {"environment_type", "environment_config", "environment_options"}
# Where the workers' code comes from. TFX packages its own installation as an sdist for the
# workers of every Beam component (a `setup.py sdist` subprocess, about 3 s each) unless one
# of these is set (tfx/utils/dependency_utils.py).
DEPENDENCY_OPTIONS = {"extra_packages", "setup_file", "requirements_file", "worker_harness_container_image",
                      "sdk_container_image"}
FN_API_RUNNERS = ("local", "local-multiprocess")
# Environments whose workers import an installation they already have: an external worker
# pool runs this project's installation (its image on Kubernetes), a loopback one is this
# process. Neither reads a container image or installs staged packages, so naming an image
# only spares TFX's package build.
PREINSTALLED_ENVIRONMENTS = ("EXTERNAL", "LOOPBACK")
WORKERS_HAVE_THE_CODE = "--sdk_container_image=unused-workers-import-the-installed-code"


def _beam_parser() -> argparse.ArgumentParser:
    """The parser Beam reads pipeline arguments with: every option of every options class."""
    from apache_beam.options.pipeline_options import PipelineOptions
    parsers = []
    PipelineOptions([]).get_all_options(add_extra_args_fn=parsers.append)
    return parsers[0]


def options_set_by(args: list[str]) -> set[str]:
    """The Beam options (their destination names, e.g. `job_endpoint`) that `args` set, in
    whichever spelling (`--job-server-timeout`, `--environment_option`, `--flag value`)."""
    parser = _beam_parser()
    unset = dict.fromkeys(vars(parser.parse_known_args([])[0]))  # every option, as None
    given, _ = parser.parse_known_args(args, argparse.Namespace(**unset))
    return {name for name, value in vars(given).items() if value is not None}


def beam_args(runner: str, extra: list[str] | None = None) -> list[str]:
    """The runner's arguments with the user's `extra` ones, which replace the defaults of
    the options they set."""
    if runner not in BEAM_ARGS_BY_RUNNER:
        raise UserError(f"unknown Beam runner '{runner}'; known: {sorted(BEAM_ARGS_BY_RUNNER)}")
    extra = list(extra or [])
    given = options_set_by(extra)
    if "runner" in given:
        raise UserError("the Beam runner is chosen with --beam-runner "
                        f"({', '.join(BEAM_ARGS_BY_RUNNER)}), not with --beam-arg=--runner")
    missing = [option for option in REQUIRED_OPTIONS.get(runner, []) if option not in given]
    if missing:
        raise UserError(f"Beam runner '{runner}' needs {', '.join(f'--{o}=...' for o in missing)} "
                        "(pass each with --beam-arg)")
    if given & ENVIRONMENT_OPTIONS:
        given.add("environment_config")
    defaults = [arg for arg in BEAM_ARGS_BY_RUNNER[runner] if not options_set_by([arg]) & given]
    return defaults + extra


def _workers_have_the_code(runner: str, args: list[str]) -> bool:
    """Whether the workers import this project's installation as they find it."""
    if runner in FN_API_RUNNERS:
        return True
    return runner == "portable" and _portable_options(args).environment_type in PREINSTALLED_ENVIRONMENTS


def _names_the_workers_code(args: list[str]) -> bool:
    return bool(options_set_by(args) & DEPENDENCY_OPTIONS)


def _portable_options(args: list[str]):
    from apache_beam.options.pipeline_options import PipelineOptions, PortableOptions
    return PipelineOptions(args).view_as(PortableOptions)


def kubeflow_beam_args(runner: str, image: str, extra: list[str] | None = None) -> list[str]:
    """Beam arguments of the Kubeflow tasks. Dataflow workers run the project image, and so
    do the task pods and the worker pool of kubernetes/beam-flink.yaml: they import the same
    code; naming the image also keeps TFX from building a package per step."""
    args = beam_args(runner, extra)
    if (runner == "dataflow" or _workers_have_the_code(runner, args)) and not _names_the_workers_code(args):
        args.append(f"--sdk_container_image={image}")
    return args


def local_dag_beam_args(runner: str, extra: list[str] | None = None) -> list[str]:
    """Beam arguments of the Beam components of a LocalDagRunner run."""
    args = beam_args(runner, extra)
    if _workers_have_the_code(runner, args) and not _names_the_workers_code(args):
        args.append(WORKERS_HAVE_THE_CODE)
    return args


def check_job_service(args: list[str]) -> None:
    """Fails at once, as one line, when nothing answers at the `--job_endpoint` of `args`
    within `--job_server_timeout` (Beam itself waits that long in each step, then raises
    a timeout without a message). Without a job endpoint, nothing to check."""
    import grpc
    options = _portable_options(args)
    if not options.job_endpoint:
        return
    channel = grpc.insecure_channel(options.job_endpoint)
    try:
        grpc.channel_ready_future(channel).result(timeout=options.job_server_timeout)
    except grpc.FutureTimeoutError:
        raise UserError(f"no Beam job service answered at {options.job_endpoint} (--job_endpoint) within "
                        f"{options.job_server_timeout} s (--job_server_timeout): start it, or point "
                        "--beam-arg=--job_endpoint=HOST:PORT at a running one") from None
    finally:
        channel.close()


# What a job service's failure says when it could not start a worker in an external worker
# pool: Beam's portable FnApiRunner (its local job service) sends its traceback as the text.
WORKER_START_FAILURE = ("start_worker", "StatusCode.UNAVAILABLE")


@contextlib.contextmanager
def worker_pool_errors(args: list[str]):
    """Within: a Beam job that failed because its job service could not reach the external
    worker pool is reported as one line naming the pool's address."""
    try:
        yield
    except Exception as error:
        if not _could_not_start_worker(error):
            raise
        options = _portable_options(args)
        raise UserError(
            f"the Beam job service at {options.job_endpoint} could not start an SDK worker in the worker pool at "
            f"{options.environment_config} (--environment_config): start one there (python -m "
            "apache_beam.runners.worker.worker_pool_main --service_port=PORT), reachable from the job "
            "service, or point --beam-arg=--environment_config=HOST:PORT at a running one") from error


def _could_not_start_worker(error: BaseException) -> bool:
    return any(all(marker in str(link) for marker in WORKER_START_FAILURE) for link in error_chain(error))
