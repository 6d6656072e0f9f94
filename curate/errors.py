"""Errors meant for the user: the CLI prints them as one line, never as a traceback."""


class CurateError(Exception):
    """A problem the user can fix (bad config, missing file, unusable input)."""


class ConfigError(CurateError):
    """The pipeline YAML or a stage option is wrong; the message names the offending key."""


def one_line(exc: BaseException) -> str:
    """`Type: first non-empty line of the message`: how a foreign error reaches the user."""
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {first}"
