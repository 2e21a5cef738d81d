"""soroban-vision: read the digits on a soroban from camera images, in Python and in the browser.

from soroban_vision import load_column_classifier, read_abacus
"""

from soroban_vision.api import load_column_classifier, read_abacus

__version__ = "0.1.0"
__all__ = ["FrameTrack", "__version__", "load_column_classifier", "read_abacus"]


def __getattr__(name: str):
    if name == "FrameTrack":  # on first use: the reader's spec and OpenCV are not loaded on import
        from soroban_vision.frame.track import FrameTrack

        return FrameTrack
    raise AttributeError(f"module 'soroban_vision' has no attribute {name!r}")
