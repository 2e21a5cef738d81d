"""The project's fixed seeds: each one names a set of rendered columns that no other set draws from.

The Makefile's `make model` passes the first two on its command line (MODEL_SEED, TEST_SEED).
"""

TRAIN_SEED = 1001  # the training data of `make model` and of `soroban-vision bench`
TEST_SEED = 9999  # `make model`'s fresh test set: training never sees it
CHECK_SEED = 777_000  # the export check's columns: neither training nor test
GOLDEN_SEED = 20_240_601  # the contract's golden vectors, one column per digit
MARKERLESS_SEED = 606_000  # bench's markerless scenes (wide; classic at +1): train-frame never used them
MARKERLESS_VIDEO_SEED = 616_000  # bench's markerless video, a scene per number at +0, +1, ...
