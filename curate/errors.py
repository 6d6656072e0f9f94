"""Errors meant for the user: the CLI prints them as one line, never as a traceback."""


class CurateError(Exception):
    """A problem the user can fix (bad config, missing file, unusable input)."""


class ConfigError(CurateError):
    """The pipeline YAML or a stage option is wrong; the message names the offending key."""
