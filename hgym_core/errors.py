"""The one error type users can cause (bad file, bad schema, impossible settings).

Pages and the command line catch ``HGymError`` and show its message as is, so every
message must say what is wrong, where (column, row, setting) and how to fix it.
"""


class HGymError(ValueError):
    """A problem with user input, with a message meant to be shown to that user."""


def user_message(problem: BaseException) -> str:
    """What a user is shown for ``problem``: an HGymError's own message, else its type and text
    (a bug or a crash, which the message must still name)."""
    return str(problem) if isinstance(problem, HGymError) else f"{type(problem).__name__}: {problem}"
