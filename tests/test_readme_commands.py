"""The README's command table says what the parser takes: each `y8m <command>` row names
exactly the flags of that command's parser, and every command has a row. Plain text and
argparse only: no TensorFlow."""
import re
from pathlib import Path

from y8m import cli

README = Path(__file__).resolve().parent.parent / "README.md"
COMMAND_ROW = re.compile(r"^\| `y8m (\w+)([^`]*)` \|", re.MULTILINE)
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def readme_flags() -> dict[str, set[str]]:
    """The flags each command's row of the README's table names."""
    return {command: set(FLAG.findall(usage)) for command, usage in COMMAND_ROW.findall(README.read_text())}


def parser_flags() -> dict[str, set[str]]:
    """The long options each subcommand's parser takes, less --help."""
    commands = next(action for action in cli.build_parser()._actions if action.dest == "command")
    return {name: {option for action in parser._actions for option in action.option_strings
                   if option.startswith("--") and option != "--help"}
            for name, parser in commands.choices.items()}


def test_every_command_has_a_row_naming_exactly_its_flags():
    in_readme, in_parser = readme_flags(), parser_flags()
    assert sorted(in_readme) == sorted(in_parser), "commands with a README row differ from the parser's"
    for command, flags in in_parser.items():
        assert in_readme[command] == flags, (
            f"y8m {command}: README row lacks {sorted(flags - in_readme[command])}, "
            f"names unknown {sorted(in_readme[command] - flags)}")


def test_the_check_sees_a_missing_flag():
    row = "| `y8m score --submission CSV` | ... |"
    assert {command: set(FLAG.findall(usage)) for command, usage in COMMAND_ROW.findall(row)} == {
        "score": {"--submission"}}
    assert parser_flags()["score"] != {"--submission"}
