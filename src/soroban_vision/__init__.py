"""soroban-vision: read the digits on a soroban from camera images, in Python and the browser."""

__version__ = "0.1.0"
