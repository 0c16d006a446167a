"""The project image's Dockerfile, read as text (no Docker daemon here to build it): what
Dataflow's runner v2 needs of a custom SDK container, for the locked Beam and Python."""
import json
import pathlib
import re
import tomllib

REPO = pathlib.Path(__file__).resolve().parent.parent
BOOT = "/opt/apache/beam/boot"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def locked_version(name: str) -> str:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    return next(package["version"] for package in lock["package"] if package["name"] == name)


def test_dataflow_workers_can_boot_the_project_image():
    """Runner v2 starts a custom container's workers through Beam's boot binary, which the
    image must hold and run as its entrypoint; the binary comes from the SDK image of the
    locked Beam version for the image's Python."""
    steps = instructions()
    arguments = dict((value.split("=", 1)[0], value.split("=", 1)[1]) for kind, value in steps if kind == "ARG"
                     and "=" in value)
    assert arguments["BEAM_VERSION"] == locked_version("apache-beam")
    stages = [value for kind, value in steps if kind == "FROM"]
    sdk_stage = re.fullmatch(r"apache/beam_python(\d+\.\d+)_sdk:\$\{BEAM_VERSION\} AS (\S+)", stages[0])
    assert sdk_stage, stages[0]
    python = re.fullmatch(r"python:(\d+\.\d+)-\S+", stages[-1])
    assert python and python[1] == sdk_stage[1], (stages[-1], stages[0])
    final = steps[[kind for kind, _ in steps].index("FROM", 1):]
    assert ("COPY", f"--from={sdk_stage[2]} /opt/apache/beam /opt/apache/beam") in final
    assert ("ENV", "RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT=1") in final
    entrypoints = [json.loads(value) for kind, value in final if kind == "ENTRYPOINT"]
    assert entrypoints[-1:] == [[BOOT]]
    assert not [value for kind, value in final if kind == "CMD"]  # would become the boot binary's arguments
