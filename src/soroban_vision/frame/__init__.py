"""The learned frame (corner) detector: where a soroban's frame is, without markers.

input.py     the model's input (the spec's frame_model rule) and its corners back in pixels
model.py     the model: encoder-decoder, four corner heatmaps, soft-argmax (DSNT), frame-present
examples.py  training examples from render-scenes folders (whole, cropped, and without a soroban)
pipeline.py  tf.data: streamed examples, augmentation, targets
train.py     `train-frame`: the wiring, progress events, stop file, best weights
contract.py  the frame model's contract: roles, preprocessing, golden vectors, checks on load
export.py    TF.js / ONNX export with the float32 and quantization refusal rules
detector.py  the model at run time (ONNX Runtime, or Keras): FrameDetector
refine.py    the model's corners snapped to the frame's outer edges (abacus.edges)
locate.py    the frame for abacus.locate: model, closer look, snapping, two-soroban check
"""

from soroban_vision.frame.detector import FRAME_MODEL_DIR, FrameDetector, FrameGuess, shipped_detector

__all__ = ["FRAME_MODEL_DIR", "FrameDetector", "FrameGuess", "shipped_detector"]
