"""`y8m`: the command-line entry point of the pipeline.

  y8m generate --output DIR      synthetic data in the YouTube-8M 2018 format
  y8m run --train GLOB --test GLOB --output DIR [--profile quick|full|FILE.yaml] [--beam-runner R --beam-arg ARG]
  y8m demo [--output DIR]        generate, run with the demo profile, serve the pushed model
  y8m score --submission CSV --labels GLOB
  y8m predict --model DIR --data GLOB --output CSV [--beam-runner R --beam-arg ARG]
  y8m compile --output pipeline.yaml --train GLOB --test GLOB --serving-model-dir DIR [--image IMAGE]
  y8m submit --host URL --package pipeline.yaml --pipeline-root URI [--experiment NAME]
"""
import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import traceback

# Keras 2 through tf_keras, before anything imports TensorFlow (TFX and TFT need it).
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common.errors import ComponentFailedError, Terminated, UserError, brief, find_user_error  # noqa: E402
from pipeline.beam_options import BEAM_ARGS_BY_RUNNER  # noqa: E402  (names only; Beam loads on use)
from y8m.command_log import logging_to  # noqa: E402

log = logging.getLogger("y8m")

LOG_FILE = "y8m.log"
# Beam runners that read and write this machine's files (`y8m run`): Dataflow's workers cannot.
ON_THIS_MACHINE = [runner for runner in BEAM_ARGS_BY_RUNNER if runner != "dataflow"]


def _positive_integer(text: str) -> int:
    """A `--classes` or `--parallel` value."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _add_generate(commands) -> None:
    parser = commands.add_parser("generate", help="write synthetic YouTube-8M video-level data")
    parser.add_argument("--output", required=True, help="directory for the TFRecords and clean_labels.csv")
    parser.add_argument("--videos", type=int, default=2000)
    parser.add_argument("--classes", type=int, default=3862)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label-noise", type=float, default=0.2,
                        help="probability of spurious labels (true labels go missing at half this rate)")
    parser.add_argument("--shards", type=int, default=4, help="files per partition")
    parser.add_argument("--frames", action="store_true",
                        help="also write the same videos at frame level (frames/*.tfrecord, SequenceExamples) "
                             "and give some classes temporal signatures")
    parser.add_argument("--max-frames", type=int, default=300, help="frames per video at most (with --frames)")


def _add_run(commands) -> None:
    parser = commands.add_parser("run", help="run the whole pipeline locally")
    parser.add_argument("--train", action="append", required=True, metavar="GLOB",
                        help="labelled video-level TFRecords (train and validate); repeatable")
    parser.add_argument("--test", action="append", required=True, metavar="GLOB",
                        help="test TFRecords; their labels, if any, are only used for scoring")
    parser.add_argument("--output", required=True, help="directory for the deliverables and the pipeline root")
    parser.add_argument("--profile", default="quick", help="quick, full, or a path to a profile YAML")
    parser.add_argument("--classes", type=_positive_integer, default=None,
                        help="size of the label vocabulary (default 3862, the YouTube-8M 2018 one)")
    _add_frame_arguments(parser)
    _add_parallel_argument(parser)
    _add_beam_arguments(parser, ON_THIS_MACHINE, "local or local-multiprocess (in this process or its "
                        "subprocesses), or portable (a Beam job service, whose workers must see this "
                        "machine's paths)")


def _add_beam_arguments(parser, runners: list[str], where: str) -> None:
    """Where a command's Beam jobs run (pipeline/beam_options.py; kubernetes/README.md,
    "Beam runners")."""
    parser.add_argument("--beam-runner", default="local", choices=runners, help=f"where the Beam jobs run: {where}")
    parser.add_argument("--beam-arg", action="append", default=[], metavar="ARG",
                        help="a Beam pipeline argument, replacing the runner's default for the same option, "
                             "e.g. --beam-arg=--job_endpoint=localhost:8099 "
                             "--beam-arg=--environment_config=localhost:50000; repeatable")


def _add_parallel_argument(parser) -> None:
    parser.add_argument("--parallel", type=_positive_integer, default=None, metavar="N",
                        help="components run at the same time (an L1 model's folds, the student's "
                             "networks), each in its own process with its share of the cores; 1: one after "
                             "another in this process (default: one per core, at most 4; each holds its own "
                             "model and input buffers)")


def _add_frame_arguments(parser) -> None:
    parser.add_argument("--frame-train", action="append", default=[], metavar="GLOB",
                        help="frame-level TFRecords (SequenceExamples) of the labelled videos, read where "
                             "they lie, for the profile's frame-level models; repeatable")
    parser.add_argument("--frame-test", action="append", default=[], metavar="GLOB",
                        help="frame-level TFRecords of the test videos; repeatable")


def _add_demo(commands) -> None:
    parser = commands.add_parser(
        "demo", help="generate synthetic data, run the demo profile on it, serve the pushed model")
    parser.add_argument("--output", default="y8m-demo")
    parser.add_argument("--videos", type=int, default=4000)
    parser.add_argument("--classes", type=int, default=500,
                        help="vocabulary of the synthetic data (fewer than 3862 keeps a small demo learnable)")
    _add_parallel_argument(parser)


def _add_score(commands) -> None:
    parser = commands.add_parser("score", help="GAP@20, Hit@1, PERR and MAP of a submission")
    parser.add_argument("--submission", required=True, help="Kaggle-format CSV")
    parser.add_argument("--labels", action="append", required=True, metavar="GLOB",
                        help="video-level TFRecords holding the true labels; repeatable")
    parser.add_argument("--classes", type=_positive_integer, default=3862)


def _add_predict(commands) -> None:
    parser = commands.add_parser("predict", help="a pushed SavedModel over video-level files, as a submission")
    parser.add_argument("--model", required=True, help="SavedModel directory (e.g. DIR/serving_model/<version>)")
    parser.add_argument("--data", action="append", required=True, metavar="GLOB",
                        help="video-level TFRecords to predict; repeatable")
    parser.add_argument("--output", required=True, help="the Kaggle-format CSV to write")
    _add_beam_arguments(parser, list(BEAM_ARGS_BY_RUNNER), "local, local-multiprocess, portable (a Beam job "
                        "service) or dataflow (with gs:// paths)")


def _add_compile(commands) -> None:
    parser = commands.add_parser("compile", help="compile the pipeline into a Kubeflow Pipelines package")
    parser.add_argument("--output", required=True, help="the package to write (.yaml)")
    parser.add_argument("--train", action="append", required=True, metavar="GLOB",
                        help="labelled TFRecords as the pods see them (e.g. /data/train*.tfrecord); repeatable")
    parser.add_argument("--test", action="append", required=True, metavar="GLOB",
                        help="test TFRecords as the pods see them; repeatable")
    parser.add_argument("--serving-model-dir", required=True,
                        help="where the Pusher writes the blessed student (gs:// or a mounted path)")
    parser.add_argument("--image", default="y8m-pipeline:latest", help="the project image every task runs")
    parser.add_argument("--gpu-image", default=None, help="image of the tasks that request a GPU")
    parser.add_argument("--profile", default="quick", help="quick, full, or a path to a profile YAML")
    _add_beam_arguments(parser, list(BEAM_ARGS_BY_RUNNER), "local or local-multiprocess (inside the task's "
                        "pod), portable (e.g. Flink's job server) or dataflow")
    parser.add_argument("--classes", type=_positive_integer, default=None, help="size of the label vocabulary")
    parser.add_argument("--no-cache", action="store_true",
                        help="turn KFP's cache off for every task of the package (its runs recompute everything)")
    _add_frame_arguments(parser)


def _add_submit(commands) -> None:
    parser = commands.add_parser("submit", help="start a run of a compiled package on Kubeflow Pipelines")
    parser.add_argument("--host", required=True, help="the KFP API endpoint, e.g. http://localhost:8080")
    parser.add_argument("--package", required=True, help="a package written by `y8m compile`")
    parser.add_argument("--pipeline-root", required=True,
                        help="artifact root of the run: gs://..., or minio://... / s3://... on a stock install")
    parser.add_argument("--experiment", default=None)
    parser.add_argument("--run-name", default=None)
    parser.add_argument("--namespace", default=None)
    parser.add_argument("--service-account", default=None)
    parser.add_argument("--no-cache", action="store_true",
                        help="run every task of this run, even where KFP has a cached result "
                             "(without it, the package's caching setting stands)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a run parameter of the package (its run form: labelled_patterns, test_patterns, "
                             "frame_patterns: a glob or a JSON list of globs; serving_model_dir; "
                             "min_gap_ratio); the others keep their defaults; repeatable")
    parser.add_argument("--skip-version-check", action="store_true",
                        help="submit without asking the server for its version (one that does not say it)")


class ArgumentsError(Exception):
    """Bad command-line arguments: the one line to print."""


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse, with its errors as one line like every other error of the command (its
    own prints the usage first and exits)."""

    def error(self, message):
        raise ArgumentsError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(prog="y8m", description=__doc__.split("\n")[0][8:])
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (_add_generate, _add_run, _add_demo, _add_score, _add_predict, _add_compile, _add_submit):
        add(commands)
    return parser


def cmd_generate(args) -> dict:
    from y8m import synthetic
    summary = synthetic.generate(args.output, videos=args.videos, classes=args.classes, seed=args.seed,
                                 label_noise=args.label_noise, shards=args.shards, frames=args.frames,
                                 max_frames=args.max_frames)
    return {key: value for key, value in summary.items() if key not in ("files", "frame_files")}


def _run(train, test, output, profile_name, classes, frame_patterns=None, beam_runner="local",
         beam_args=None, parallel=None) -> dict:
    """Holds the output directory and checks the profile and inputs before it imports the
    frameworks (seconds, not the imports' half a minute), then runs the pipeline."""
    from pipeline import output_lock
    from pipeline.profile import load_profile
    from pipeline.run_inputs import check_run_inputs
    with output_lock.exclusive_run(output):
        profile = load_profile(profile_name)
        check_run_inputs(train, test, frame_patterns, beam_runner, beam_args)
        log.info("running profile '%s' (%d L1 models, %d folds) into %s; its log: %s",
                 profile.name, len(profile.l1_models), profile.folds, output, os.path.join(output, LOG_FILE))
        from pipeline.local_runner import default_parallel_components, run_local
        outputs = run_local(train, test, output, profile, num_classes=classes, frame_patterns=frame_patterns,
                            beam_runner=beam_runner, extra_beam_args=beam_args,
                            parallel_components=parallel or default_parallel_components())
    with open(outputs.metrics_path) as source:
        report = json.load(source)
    return {
        "seconds": round(outputs.seconds, 1),
        "submission": outputs.submission_path,
        "stack_submission": outputs.stack_submission_path,
        "metrics": outputs.metrics_path,
        "pushed_model": outputs.pushed_model_dir,
        "blessing": report["blessing"]["reason"],
        "gap": {f"{s['name']}/{s['split']}": round(s["gap"], 4) for s in report["stages"]},
    }


def cmd_run(args) -> dict:
    return _run(args.train, args.test, args.output, args.profile, args.classes,
                args.frame_train + args.frame_test, args.beam_runner, args.beam_arg, args.parallel)


def cmd_demo(args) -> dict:
    """Synthetic data, the whole pipeline with the demo profile, then the pushed model
    served by `y8m predict` over the test files, as a user would call it."""
    from pipeline.beam_options import beam_args
    from y8m import synthetic
    from y8m.predict import predict
    data_dir = os.path.join(args.output, "data")
    synthetic.generate(data_dir, videos=args.videos, classes=args.classes, seed=0, label_noise=0.2)
    test_files = os.path.join(data_dir, "test*.tfrecord")
    result = _run([os.path.join(data_dir, "train*.tfrecord"), os.path.join(data_dir, "validate*.tfrecord")],
                  [test_files], args.output, "demo", args.classes, parallel=args.parallel)
    if result["pushed_model"] is None:
        log.info("the student was not blessed (%s): no model to serve", result["blessing"])
        return result
    predictions = os.path.join(args.output, "predictions.csv")
    command = f"y8m predict --model {result['pushed_model']} --data '{test_files}' --output {predictions}"
    log.info("serving the pushed model: %s", command)
    videos = predict(result["pushed_model"], [test_files], predictions, beam_args("local"))
    return {**result, "predict_command": command, "predictions": predictions, "predicted_videos": videos}


def cmd_score(args) -> dict:
    from y8m import scoring
    return scoring.score_submission(args.submission, args.labels, num_classes=args.classes)


def cmd_predict(args) -> dict:
    from pipeline.beam_options import beam_args
    from y8m.predict import predict
    videos = predict(args.model, args.data, args.output, beam_args(args.beam_runner, args.beam_arg))
    return {"submission": args.output, "videos": videos}


def cmd_compile(args) -> dict:
    from pipeline.kubeflow_settings import check_images
    from pipeline.profile import load_profile
    profile = load_profile(args.profile)  # the profile and images first: the compiler's imports take long
    check_images(args.image, args.gpu_image)
    from pipeline.kubeflow_runner import compile_pipeline
    return compile_pipeline(
        args.output, profile=profile, image=args.image, gpu_image=args.gpu_image,
        labelled_patterns=args.train, test_patterns=args.test, serving_model_dir=args.serving_model_dir,
        beam_runner=args.beam_runner, extra_beam_args=args.beam_arg, num_classes=args.classes,
        frame_patterns=args.frame_train + args.frame_test, enable_cache=not args.no_cache)


def cmd_submit(args) -> dict:
    if any("=" not in param for param in args.param):
        raise UserError("--param takes NAME=VALUE")
    parameters = dict(param.partition("=")[::2] for param in args.param)
    if not os.path.exists(args.package):  # before the client's imports
        raise UserError(f"no package at {args.package}; write one with `y8m compile`")
    from pipeline.kubeflow_runner import submit
    return submit(args.host, args.package, args.pipeline_root, experiment=args.experiment,
                  run_name=args.run_name, namespace=args.namespace, enable_caching=False if args.no_cache else None,
                  service_account=args.service_account, parameters=parameters,
                  check_version=not args.skip_version_check)


COMMANDS = {"generate": cmd_generate, "run": cmd_run, "demo": cmd_demo, "score": cmd_score,
            "predict": cmd_predict, "compile": cmd_compile, "submit": cmd_submit}


def main(argv=None) -> int:
    """Runs one command; returns its exit code: 0, 2 for bad input or arguments, 1 for an
    unexpected error, 130 when interrupted (Ctrl-C), 143 when terminated (SIGTERM). A
    failure is one line on stderr."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser().parse_args(argv)
        log_path, log_kept = _log_file(args)
    except ArgumentsError as error:
        print(error, file=sys.stderr)
        return 2
    except UserError as error:
        print(f"y8m {args.command}: error: {error.message}", file=sys.stderr)
        return 2
    with logging_to(log_path, argv) as log_file, _sigterm_as_interrupt():
        try:
            result = COMMANDS[args.command](args)
        except (Exception, KeyboardInterrupt) as error:  # pylint: disable=broad-except
            traceback.print_exception(error, file=log_file)
            code, message = _failure(error)
        else:
            code, message = 0, None
    if code == 0:
        if not log_kept:
            os.remove(log_path)
        print(json.dumps(result, indent=2))
        return 0
    if code == 2 and not log_kept:
        os.remove(log_path)  # the message says it all
    else:
        message += f" ({'log' if code == 2 else 'traceback'}: {log_path})"
    print(f"y8m {args.command}: error: {message}", file=sys.stderr)
    return code


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM raises Terminated, a KeyboardInterrupt: the command stops as on Ctrl-C (its
    workers stopped, a run's running components cancelled), with its own exit code."""
    def terminate(_signum, _frame):
        raise Terminated()

    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _failure(error: BaseException) -> tuple[int, str]:
    """(exit code, one-line message) of a command that raised `error`."""
    if isinstance(error, Terminated):
        return 128 + signal.SIGTERM, "terminated (SIGTERM)"
    if isinstance(error, KeyboardInterrupt):
        return 130, "interrupted"
    user_error = find_user_error(error)
    if user_error is not None:
        return 2, user_error.message
    if isinstance(error, ComponentFailedError):
        return 1, f"{error}; a bug, or a problem of this machine"
    return 1, f"unexpected {brief(error)}; a bug, or a problem of this machine"


def _log_file(args) -> tuple[str, bool]:
    """(path of the command's log, whether it is kept when the command succeeds). `run` and
    `demo` keep theirs in their output directory, made here; the other commands write
    theirs to a temporary file, kept only when they fail unexpectedly."""
    if args.command in ("run", "demo"):
        try:
            os.makedirs(args.output, exist_ok=True)
        except OSError as error:
            raise UserError(f"cannot make the output directory {args.output}: {error.strerror}") from None
        return os.path.join(args.output, LOG_FILE), True
    handle, path = tempfile.mkstemp(prefix=f"y8m-{args.command}-", suffix=".log")
    os.close(handle)
    return path, False


if __name__ == "__main__":
    sys.exit(main())
