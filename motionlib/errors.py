"""User-facing errors.

Every error a researcher can cause (a wrong path, a corrupt video, an unknown model name, missing
weights) is a :class:`MotionlibError` whose message says what is wrong and what to do. The CLI prints
it as one line; library code never lets such a mistake surface as a traceback from deep inside
diffusers, PyAV or OpenCV.
"""


class MotionlibError(Exception):
    """Base class: a problem with the user's input or environment, explained in one sentence."""


def reason(err: BaseException) -> str:
    """What a library's exception says, whole, on one line (its lines joined, spaces collapsed): quoted
    inside our messages, never cut mid-sentence."""
    text = " ".join(str(err).split())
    return text or type(err).__name__


class UnknownFamilyError(MotionlibError, KeyError):
    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class UnknownSourceError(MotionlibError, ValueError):
    pass


class WeightsNotFoundError(MotionlibError, FileNotFoundError):
    pass


class VideoReadError(MotionlibError, ValueError):
    """A video file or frame folder is missing, unreadable or corrupt."""


class NotEnoughFramesError(VideoReadError):
    pass


class DatasetError(MotionlibError, ValueError):
    """A dataset root, manifest or CSV does not have the expected layout."""


class ParameterError(MotionlibError, ValueError):
    """A setting is out of range or inconsistent (a timestep window, a grid, a frame count)."""


class ResultsNotFoundError(MotionlibError, FileNotFoundError):
    """A folder that should hold results (executed notebooks, figures) holds none."""
