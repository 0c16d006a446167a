"""Errors that reach the user as one line, without a traceback."""
import contextlib
import re

# What the frameworks add to a message on its way up, none of it meaningful to the user:
# TensorFlow's function and op names, Beam's name of the step that raised.
FRAMEWORK_DECORATIONS = (
    re.compile(r"\{\{function_node [^}]*\}\}"),
    re.compile(r"\[Op:\w+\]( name: \S*)?"),
    re.compile(r"\[while running '[^']*'\]"),
)


def one_line(text: str) -> str:
    """`text` on one line, without the frameworks' decorations and invalid-input markers."""
    for decoration in FRAMEWORK_DECORATIONS:
        text = decoration.sub(" ", text)
    return " ".join(text.replace(InvalidInputError.MARKER, " ").split())


class UserError(Exception):
    """A problem with the user's input or configuration; the CLI prints `message` as one line."""

    def __init__(self, message: str):
        super().__init__(one_line(message))

    @property
    def message(self) -> str:
        return str(self)


class InvalidInputError(UserError):
    """Input data that cannot be used: names the file and, where known, the record."""

    # Beam and TFX wrap executor exceptions in their own, and a worker process's exception
    # reaches the caller as text; the marker lets the message be recovered from that text
    # (see `find_user_error`). It is stripped on construction, so a wrapper that rebuilds
    # the exception from its text (as Beam does) does not repeat it.
    MARKER = "Invalid input: "

    def __init__(self, message: str):
        Exception.__init__(self, self.MARKER + one_line(message))

    @property
    def message(self) -> str:
        return str(self)[len(self.MARKER):]


def error_chain(error: BaseException | None):
    """`error`, then the exceptions it was raised from or while handling, each once."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def find_user_error(error: BaseException) -> UserError | None:
    """The UserError inside `error` (itself, its cause chain, or an InvalidInputError's
    marked text), cleaned to one line; None for any other error."""
    for link in error_chain(error):
        if isinstance(link, UserError):
            return type(link)(link.message)
        text = str(link)
        if InvalidInputError.MARKER in text:
            line = text[text.rindex(InvalidInputError.MARKER):].splitlines()[0]
            return InvalidInputError(one_line(line).rstrip(" '\"]"))
    return None


@contextlib.contextmanager
def unwrapped_input_errors():
    """Re-raises a UserError that Beam or TFX wrapped as itself, so it stays one line."""
    try:
        yield
    except Exception as error:
        found = find_user_error(error)
        if found is None:
            raise
        raise found from None


# Characters of an unexpected error's message on the terminal line; the log holds it all.
MAX_DETAIL = 300


def brief(error: BaseException) -> str:
    """An unexpected error's type and message, shortened to one line."""
    return f"{type(error).__name__}: {one_line(str(error))[:MAX_DETAIL] or '(no message)'}"


class Terminated(KeyboardInterrupt):
    """SIGTERM (what Kubernetes, systemd and job schedulers send), handled as Ctrl-C."""


class ComponentFailedError(RuntimeError):
    """A pipeline component failed on something other than the user's input (a bug, or
    the machine): names the component; the original exception is its cause."""

    def __init__(self, component: str, error: BaseException):
        super().__init__(f"component {component} failed: {brief(error)}")
