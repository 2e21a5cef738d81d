"""soroban-vision: read the digits on a soroban from camera images, in Python and in the browser.

from soroban_vision import load_column_classifier, read_abacus
"""

from soroban_vision.api import load_column_classifier, read_abacus

__version__ = "0.1.0"
__all__ = ["__version__", "load_column_classifier", "read_abacus"]
