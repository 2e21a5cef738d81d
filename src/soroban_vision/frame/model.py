"""The frame model: a small encoder-decoder over the gray photo, four corner heatmaps decoded
by a differentiable soft-argmax (DSNT), and a frame-present score.

Input `image`: float32 [batch, HEIGHT, WIDTH, 1] in [0, 1] (`frame.input`); [-1, 1] inside.
Outputs, by name: `corners` [batch, 4, 2], each corner's (x, y) normalized to the input
(0..1), clockwise from the top-left; `frame` [batch, 1], sigmoid: a whole soroban frame is
in the image. Training adds `heatmaps` [batch, 4, cells], the softmax each corner is the
expected position of. Only stock Keras layers: the soft-argmax is a Softmax and a frozen Dense
whose kernel holds the cells' centres, so .keras, ONNX and TF.js need nothing custom.
"""

from __future__ import annotations

import numpy as np

from soroban_vision.frame.input import HEIGHT, WIDTH

INPUT_NAME = "image"
STRIDE = 2  # input pixels per heatmap cell, each way
CELLS = (HEIGHT // STRIDE, WIDTH // STRIDE)  # heatmap rows, columns
OUTPUTS = ("corners", "frame")


def cell_centres() -> np.ndarray:
    """[rows*cols, 2]: each heatmap cell's centre (x, y), normalized, in row-major order."""
    rows, cols = CELLS
    ys, xs = np.meshgrid((np.arange(rows) + 0.5) / rows, (np.arange(cols) + 0.5) / cols, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)


def build_frame_model(width: int = 1, heatmaps: bool = False):
    """A fresh frame model; with `heatmaps`, the training model with the heatmaps as a third output
    (the same layers: its weights are the shipped model's)."""
    import keras
    from keras import layers

    def conv(x, filters, stride, name):
        x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=name)(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
        return layers.ReLU(name=f"{name}_relu")(x)

    def sep(x, filters, stride, name, dilation=1):
        x = layers.DepthwiseConv2D(
            3, strides=stride, dilation_rate=dilation, padding="same", use_bias=False, name=f"{name}_dw"
        )(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"{name}_dw_bn")(x)
        x = layers.ReLU(name=f"{name}_dw_relu")(x)
        x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_pw")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"{name}_pw_bn")(x)
        return layers.ReLU(name=f"{name}_pw_relu")(x)

    def up(x, skip, filters, name):
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"{name}_up")(x)
        x = layers.Concatenate(name=f"{name}_join")([x, skip])
        return sep(x, filters, 1, name)

    w = width
    inputs = keras.Input((HEIGHT, WIDTH, 1), name=INPUT_NAME)
    x = layers.Rescaling(2.0, -1.0, name="to_signed")(inputs)  # [0,1] -> [-1,1], inside the model
    s2 = conv(x, 16 * w, 2, "stem")  # 1/2: the heatmaps' cells
    s4 = sep(s2, 32 * w, 2, "block2")  # 1/4
    s4 = sep(s4, 32 * w, 1, "block3")
    s8 = sep(s4, 48 * w, 2, "block4")  # 1/8
    s8 = sep(s8, 48 * w, 1, "block5")
    x = sep(s8, 96 * w, 2, "block6")  # 1/16: the whole frame in view
    x = sep(x, 96 * w, 1, "block7", dilation=2)
    x = sep(x, 96 * w, 1, "block8", dilation=4)
    present = layers.GlobalAveragePooling2D(name="pool")(x)
    present = layers.Dense(32, activation="relu", name="present_features")(present)
    frame = layers.Dense(1, activation="sigmoid", name="frame")(present)
    x = up(x, s8, 48 * w, "up8")
    x = up(x, s4, 32 * w, "up4")
    x = up(x, s2, 16 * w, "up2")
    logits = layers.Conv2D(4, 1, name="corner_logits")(x)  # [b, rows, cols, 4]
    logits = layers.Permute((3, 1, 2), name="per_corner")(logits)
    logits = layers.Reshape((4, CELLS[0] * CELLS[1]), name="flat")(logits)
    heat = layers.Softmax(axis=-1, name="heatmaps")(logits)
    soft_argmax = layers.Dense(2, use_bias=False, trainable=False, name="corners")
    corners = soft_argmax(heat)  # the expected (x, y) of each corner's heatmap
    soft_argmax.set_weights([cell_centres()])
    outputs = {"corners": corners, "frame": frame}
    if heatmaps:
        outputs["heatmaps"] = heat
    return keras.Model(inputs, outputs, name="frame")


def shipping_model(training_model):
    """The model to save and export: the training model's corners and frame, no heatmaps."""
    import keras

    return keras.Model(
        training_model.inputs,
        {k: training_model.get_layer(k).output for k in OUTPUTS},
        name="frame",
    )
