"""The frame in a video: found in full once, then kept while the frame model sees it still.

Finding the frame in full (the closer look, the snapping, the second soroban's look) is most of
a markerless read. In a video the soroban mostly stays put while a hand moves its beads, so the
frame found in full is kept for the next frames while the model's first look, which every frame
still gets, puts the frame where it put it then. Only a frame whose reading was sure of its rod
count, with every column read, is kept: one found while a hand covers rods may be cut short at
the hand. Once it was, it is kept through readings unsure for a hand over the rods (the soroban
has not moved), and a search in full after `keep` kept frames that finds it again keeps it so.
A move of more than `still` of the photo's width, a photo of another size, no frame seen, or an
unsure reading of a frame not yet read sure, and the next frame is searched in full again.
Markers or given corners make it stale (abacus/read.py _tracked). The browser keeps its frame
alike (web/src/frame/track.js).
"""

from __future__ import annotations

import numpy as np

from soroban_vision.abacus.spec import SPEC

TRACK = SPEC["frame_search"]["track"]
STILL = TRACK["still"]  # of the photo's width: how far the first look's corners may move
# frames a frame found in full is kept for, at most: a second soroban is seen within a second
KEEP = TRACK["keep"]


class FrameTrack:
    """What one video's reads remember of its frame: pass the same FrameTrack to each frame's
    `read_abacus(..., track=...)`. `kept` counts the frames the kept frame was handed to (a
    reading may still refuse it: a hand over every rod)."""

    def __init__(self) -> None:
        self.look: np.ndarray | None = None  # the first look's corners when the frame was found in full
        self.corners: np.ndarray | None = None  # the frame found then, in the gray's pixels
        self.shape: tuple[int, int] | None = None
        self.since = 0  # frames kept since that full search
        self.sure = False  # its reading was sure of the rod count
        self.kept = 0

    def kept_corners(self, look: np.ndarray, shape: tuple[int, int]) -> np.ndarray | None:
        """The kept frame's corners (a copy) when the first look `look` of a gray of `shape`
        puts the frame where it was found, counted as kept; None when it must be searched in full."""
        if self.corners is None or not self.sure or shape != self.shape or self.since >= KEEP:
            return None
        if float(np.abs(look - self.look).max()) > STILL * shape[1]:
            return None
        self.since += 1
        self.kept += 1
        return self.corners.copy()

    def found(self, look: np.ndarray, corners: np.ndarray, shape: tuple[int, int]) -> None:
        """After a full search: keep its frame, still sure if it is the sure frame found again."""
        again = self.sure and shape == self.shape and self._near(corners, shape)
        self.look, self.shape, self.since, self.sure = look.copy(), shape, 0, again
        self.corners = corners.copy()

    def read(self, sure: bool) -> None:
        """After a reading with the frame model's frame: a frame is kept once a reading with it
        was sure (of its rod count, with every column read); before that, an unsure reading
        forgets it."""
        if sure:
            self.sure = self.corners is not None
        elif not self.sure:
            self.forget()

    def _near(self, corners: np.ndarray, shape: tuple[int, int]) -> bool:
        return self.corners is not None and float(np.abs(corners - self.corners).max()) <= STILL * shape[1]

    def forget(self) -> None:
        self.look = self.corners = self.shape = None
        self.since, self.sure = 0, False
