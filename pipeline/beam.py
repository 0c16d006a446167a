"""Beam pipeline arguments per runner, in one place.

Local runs pin the in-process FnApiRunner: Beam 2.77's default DirectRunner first tries
the Prism runner, which downloads a binary at run time.
"""
from y8m.errors import UserError

BEAM_ARGS_BY_RUNNER = {
    "local": ["--runner=FnApiRunner", "--direct_running_mode=in_memory", "--direct_num_workers=1"],
    "local-multiprocess": ["--runner=FnApiRunner", "--direct_running_mode=multi_processing",
                           "--direct_num_workers=0"],
}


def beam_args(runner: str, extra: list[str] | None = None) -> list[str]:
    if runner not in BEAM_ARGS_BY_RUNNER:
        raise UserError(f"unknown Beam runner '{runner}'; known: {sorted(BEAM_ARGS_BY_RUNNER)}")
    return BEAM_ARGS_BY_RUNNER[runner] + list(extra or [])
