"""Errors that reach the user as one line, without a traceback."""
import contextlib


class UserError(Exception):
    """A problem with the user's input or configuration; the CLI prints it as one line."""


class InvalidInputError(UserError):
    """Input data that cannot be used: names the file and, where known, the record."""

    # Beam and TFX wrap executor exceptions in their own; the marker lets the one-line
    # message be recovered from the wrapped text (see `find_invalid_input`).
    MARKER = "Invalid input: "

    def __init__(self, message: str):
        super().__init__(self.MARKER + message)


def find_invalid_input(error: BaseException) -> "InvalidInputError | None":
    """Returns the InvalidInputError inside `error` (cause chain or wrapped text), if any."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, InvalidInputError):
            return error
        text = str(error)
        if InvalidInputError.MARKER in text:
            line = text[text.rindex(InvalidInputError.MARKER):].splitlines()[0]
            return InvalidInputError(line[len(InvalidInputError.MARKER):].rstrip(" '\"]"))
        error = error.__cause__ or error.__context__
    return None


@contextlib.contextmanager
def unwrapped_input_errors():
    """Re-raises an InvalidInputError that Beam or TFX wrapped as itself, so it stays one line."""
    try:
        yield
    except InvalidInputError:
        raise
    except Exception as error:
        found = find_invalid_input(error)
        if found is None:
            raise
        raise found from None
