"""The live preview of `watch --show`: each frame in an OpenCV highgui window, the frame's outline
and the number read drawn over it, the steady number once there is one. q or Esc closes it and
stops watching.

The base install's OpenCV (opencv-python-headless) has no GUI: `open_window` says so in one line
before any frame is read."""

from __future__ import annotations

import os
import re
import sys

import numpy as np

from soroban_vision.errors import UsageError

TITLE = "soroban-vision watch"
GREEN, AMBER, WHITE = (60, 200, 60), (0, 170, 255), (255, 255, 255)  # BGR


def gui_backend() -> str:
    """The GUI OpenCV was built with ("GTK3", "QT6", "WIN32UI", ...), or "NONE"."""
    import cv2

    m = re.search(r"^\s*GUI:\s*(\S+)", cv2.getBuildInformation(), re.M)
    return m.group(1) if m else "NONE"


def open_window() -> Window:
    """A preview window, or UsageError (no_gui) when this OpenCV or this session cannot show one."""
    import cv2

    if gui_backend().upper() == "NONE":
        raise UsageError(
            "--show needs OpenCV with a GUI, and this one has none (opencv-python-headless, the base "
            "install's): pip uninstall opencv-python-headless && pip install opencv-python",
            code="no_gui",
        )
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        raise UsageError("--show needs a display, and there is none (DISPLAY is not set)", code="no_gui")
    try:
        cv2.namedWindow(TITLE, cv2.WINDOW_NORMAL)
    except cv2.error as e:
        first = str(e).strip().splitlines()[0][:160]
        raise UsageError(f"--show cannot open a window: {first}", code="no_gui") from None
    return Window()


class Window:
    """Shows frames; `show` returns False once the user closed the window (q, Esc or its close box)."""

    def __init__(self):
        self.steady = None

    def show(self, rgb: np.ndarray, reading=None, steady=None) -> bool:
        import cv2

        if steady is not None:
            self.steady = steady
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        if reading is not None:
            outline = np.round(np.asarray(reading.corners, np.float64)).astype(np.int32)
            cv2.polylines(bgr, [outline], True, GREEN, 2, cv2.LINE_AA)
            _label(bgr, f"reading {reading.number}", (10, 30), AMBER)
        if self.steady is not None:
            _label(bgr, f"steady {self.steady}", (10, 64), GREEN)
        cv2.imshow(TITLE, bgr)
        key = cv2.waitKey(1) & 0xFF
        closed = cv2.getWindowProperty(TITLE, cv2.WND_PROP_VISIBLE) < 1
        return not (closed or key in (ord("q"), 27))

    def close(self) -> None:
        import cv2

        cv2.destroyWindow(TITLE)
        cv2.waitKey(1)


def _label(bgr: np.ndarray, text: str, origin: tuple[int, int], colour) -> None:
    import cv2

    cv2.putText(bgr, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.9, (0, 0, 0), 4, cv2.LINE_AA)
    cv2.putText(bgr, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.9, colour or WHITE, 2, cv2.LINE_AA)
