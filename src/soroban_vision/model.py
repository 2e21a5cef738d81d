"""The two-head column classifier: one 64x128 gray crop in, `heaven` and `earth` out.

Input `image`: float32 [batch, 128, 64, 1] in [0, 1]. Any further normalization is a layer
inside the model, so the outside contract has exactly one range. Outputs are a dict, so
their names survive SavedModel and TF.js: `heaven` [batch, 1] sigmoid, `earth` [batch, 5]
softmax. Architectures are registered by name; a new one is one decorated function.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from soroban_vision.errors import UsageError
from soroban_vision.preprocess import HEIGHT, WIDTH

INPUT_NAME = "image"
INPUT_SHAPE = (HEIGHT, WIDTH, 1)
OUTPUT_SHAPES = {"heaven": (1,), "earth": (5,)}

ARCHITECTURES: dict[str, Callable] = {}


def architecture(name: str):
    def register(build: Callable):
        ARCHITECTURES[name] = build
        return build

    return register


def build_model(arch: str = "compact", **kwargs):
    """A fresh, untrained model of the named architecture."""
    if arch not in ARCHITECTURES:
        raise UsageError(f"unknown architecture {arch!r}; choose one of: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[arch](**kwargs)


def _heads(features, keras):
    layers = keras.layers
    heaven = layers.Dense(1, activation="sigmoid", name="heaven")(features)
    earth = layers.Dense(5, activation="softmax", name="earth")(features)
    return {"heaven": heaven, "earth": earth}


@architecture("compact")
def compact(width: int = 1):
    """A small CNN for this task: strided and separable convolutions, and a head that keeps
    the vertical layout (bead positions along the rod are the whole signal)."""
    import keras
    from keras import layers

    def conv(x, filters, stride, name):
        x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=name)(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
        return layers.ReLU(name=f"{name}_relu")(x)

    def sep(x, filters, stride, name):
        x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=f"{name}_dw")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"{name}_dw_bn")(x)
        x = layers.ReLU(name=f"{name}_dw_relu")(x)
        return conv_1x1(x, filters, name)

    def conv_1x1(x, filters, name):
        x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_pw")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"{name}_pw_bn")(x)
        return layers.ReLU(name=f"{name}_pw_relu")(x)

    inputs = keras.Input(INPUT_SHAPE, name=INPUT_NAME)
    x = layers.Rescaling(2.0, -1.0, name="to_signed")(inputs)  # [0,1] -> [-1,1], inside the model
    x = conv(x, 16 * width, 2, "stem")  # 64x32
    x = conv(x, 32 * width, 2, "block1")  # 32x16
    x = sep(x, 32 * width, 1, "block2")
    x = sep(x, 64 * width, 2, "block3")  # 16x8
    x = sep(x, 64 * width, 1, "block4")
    x = sep(x, 96 * width, 2, "block5")  # 8x4
    x = sep(x, 96 * width, 1, "block6")
    x = conv_1x1(x, 24 * width, "squeeze")
    # average across the rod's width only: where along the rod a bead sits is the answer
    x = layers.AveragePooling2D(pool_size=(1, WIDTH // 16), name="across_width")(x)  # 8 x 1 x C
    x = layers.Flatten(name="rows")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    x = layers.Dense(64, activation="relu", name="features")(x)
    return keras.Model(inputs, _heads(x, keras), name="compact")


@architecture("mobilenetv2")
def mobilenetv2(alpha: float = 0.35, weights: str | None = None):
    """The reference design abacus apps use: MobileNetV2 with the gray input stacked to three
    channels and Rescaling(2,-1) inside. ImageNet weights cannot be downloaded here, so
    `weights` is None (random init) or a local weights file."""
    import keras
    from keras import layers

    if weights is not None and not Path(weights).is_file():
        raise UsageError(f"weights file {weights} does not exist")
    inputs = keras.Input(INPUT_SHAPE, name=INPUT_NAME)
    x = layers.Concatenate(axis=-1, name="gray_to_rgb")([inputs, inputs, inputs])
    x = layers.Rescaling(2.0, -1.0, name="to_signed")(x)
    backbone = keras.applications.MobileNetV2(
        input_shape=(HEIGHT, WIDTH, 3), alpha=alpha, include_top=False, weights=None, pooling="avg"
    )
    if weights is not None:
        backbone.load_weights(weights, skip_mismatch=True)
    # keras.applications uses BatchNorm momentum 0.999, tuned for ImageNet-length runs: from
    # scratch on a short budget the moving statistics lag so far behind that inference-mode
    # outputs stay at chance while training accuracy is high. Same momentum as `compact`.
    for layer in backbone.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = 0.9
    x = backbone(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    return keras.Model(inputs, _heads(x, keras), name="mobilenetv2")


def weight_bytes(model) -> int:
    """Bytes of the model's float32 weights (what a float32 export ships)."""
    return int(sum(w.numpy().size for w in model.weights) * 4)


def load_model(path: str | Path):
    """A `.keras` file, or a folder holding `model.keras`."""
    import keras

    path = Path(path)
    if path.is_dir():
        candidates = [path / "model.keras", *sorted(path.glob("*.keras"))]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise UsageError(f"{path} holds no .keras model")
        path = found
    if not path.is_file():
        raise UsageError(f"model {path} does not exist")
    try:
        return keras.models.load_model(path)
    except Exception as e:
        msg = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise UsageError(f"cannot load model {path}: {msg}") from None


def init_from(model, path: str | Path, refusal: str) -> None:
    """Fine-tuning's start: every weight of `model` from the model at `path`; UsageError
    `refusal` when that model's weights do not fit (another architecture or width)."""
    start = load_model(path).get_weights()
    if [w.shape for w in start] != [w.shape for w in model.get_weights()]:
        raise UsageError(refusal)
    model.set_weights(start)
