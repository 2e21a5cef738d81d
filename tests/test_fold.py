"""fold_for_tfjs: the model TF.js is converted from answers as the Keras model does, in fewer
kernels (the real converter's graph shows which)."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from soroban_vision.fold import fold_for_tfjs


def _with_random_batch_norms(model, seed: int = 0):
    """Batch norms with statistics far from the identity, so a wrong fold shows."""
    from keras import layers

    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            n = layer.get_weights()[0].shape[0]
            layer.set_weights(
                [rng.uniform(0.5, 2, n), rng.normal(0, 1, n), rng.normal(0, 1, n), rng.uniform(0.2, 3, n)]
            )
    return model


def _model():
    """A dilated depthwise convolution and a strided one, each with its batch norm and ReLU."""
    import keras
    from keras import layers

    x = inputs = keras.Input((24, 20, 1))  # unnamed: the clone names its input anew
    x = layers.Conv2D(6, 3, padding="same", use_bias=False, name="stem")(x)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU()(x)
    x = layers.DepthwiseConv2D(3, dilation_rate=2, padding="same", use_bias=False, name="wide_dw")(x)
    x = layers.BatchNormalization(name="wide_dw_bn")(x)
    x = layers.ReLU()(x)
    x = layers.DepthwiseConv2D(
        3, strides=2, padding="same", depth_multiplier=2, use_bias=False, name="down_dw"
    )(x)
    x = layers.BatchNormalization(name="down_dw_bn")(x)
    x = layers.ReLU()(x)
    x = layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(3, activation="softmax", name="out")(x)
    model = keras.Model(inputs, out)
    return _with_random_batch_norms(model)


def test_the_folded_model_answers_alike_without_depthwise_batch_norms_or_dilation():
    from keras import layers

    model = _model()
    folded = fold_for_tfjs(model)
    x = np.random.default_rng(1).random((8, 24, 20, 1), dtype=np.float32)
    want, got = model.predict(x, verbose=0), folded.predict(x, verbose=0)
    assert np.abs(want - got).max() < 1e-5
    wide, down = folded.get_layer("wide_dw"), folded.get_layer("down_dw")
    assert tuple(wide.dilation_rate) == (1, 1) and tuple(wide.kernel_size) == (5, 5) and wide.use_bias
    assert tuple(down.strides) == (2, 2) and tuple(down.kernel_size) == (3, 3) and down.use_bias
    kernel = wide.get_weights()[0]
    assert not kernel[1::2].any() and not kernel[:, 1::2].any()  # zeros between the taps
    assert not isinstance(folded.get_layer("wide_dw_bn"), layers.BatchNormalization)
    assert isinstance(folded.get_layer("stem_bn"), layers.BatchNormalization)  # the converter fuses it
    assert isinstance(model.get_layer("wide_dw_bn"), layers.BatchNormalization)  # the model is untouched


def test_a_depthwise_convolution_read_by_more_than_its_batch_norm_keeps_it():
    import keras
    from keras import layers

    inputs = keras.Input((8, 8, 2))
    dw = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(inputs)
    bn = layers.BatchNormalization(name="bn")(dw)
    model = _with_random_batch_norms(keras.Model(inputs, layers.Add()([bn, dw])))
    assert fold_for_tfjs(model) is model  # folding would change what Add sees: nothing to do
    dw = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(inputs)  # a fresh graph
    bn = layers.BatchNormalization(name="bn")(dw)
    exposed = _with_random_batch_norms(keras.Model(inputs, [bn, dw]))  # the convolution is an output too
    assert fold_for_tfjs(exposed) is exposed
    plain = keras.Model(inputs, layers.Conv2D(2, 3)(inputs))
    assert fold_for_tfjs(plain) is plain


def test_a_batch_norm_that_reads_anything_but_the_bare_convolution_stays():
    """An activation between the two, or the channels first: folding would change the answers."""
    import keras
    from keras import layers

    inputs = keras.Input((8, 8, 2))
    dw = layers.DepthwiseConv2D(3, padding="same", use_bias=False, activation="relu")(inputs)
    activated = _with_random_batch_norms(keras.Model(inputs, layers.BatchNormalization()(dw)))
    assert fold_for_tfjs(activated) is activated
    first = keras.Input((2, 8, 8))
    dw = layers.DepthwiseConv2D(3, padding="same", use_bias=False, data_format="channels_first")(first)
    across = _with_random_batch_norms(keras.Model(first, layers.BatchNormalization(axis=-1)(dw)))
    assert fold_for_tfjs(across) is across

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dw = layers.DepthwiseConv2D(3, dilation_rate=2, padding="same", use_bias=False)
            self.bn = layers.BatchNormalization()

        def call(self, x):
            return self.bn(self.dw(x))

    subclassed = Subclassed()
    subclassed(np.zeros((1, 8, 8, 2), np.float32))
    assert fold_for_tfjs(subclassed) is subclassed  # no graph to rebuild


@pytest.mark.slow
def test_the_converter_fuses_every_depthwise_convolution(tmp_path):
    """The real tensorflowjs_converter: no SpaceToBatchND, no batch norm left as Mul and Add."""
    from soroban_vision.export import convert, saved_model

    def ops(folded, where):
        graph = convert(saved_model(_model(), where / "saved", folded=folded), where / "tfjs", "float32")
        return Counter(
            n["op"] for n in json.loads((graph / "model.json").read_text())["modelTopology"]["node"]
        )

    before, after = ops(False, tmp_path / "plain"), ops(True, tmp_path / "folded")  # as export converts it
    assert before["SpaceToBatchND"] == 1 and before["Mul"] >= 2  # the cost fold removes
    assert after["SpaceToBatchND"] == after["BatchToSpaceND"] == 0
    assert after["FusedDepthwiseConv2dNative"] == 2 and after["Mul"] == after["AddV2"] == 0


@pytest.mark.parametrize("model", ["column/tfjs", "column/tfjs-float16", "frame/tfjs"])
def test_the_shipped_graph_models_are_folded(model):
    """A publish that skipped fold_for_tfjs would ship the slower graph: this says so."""
    from soroban_vision.shipped import CHECKOUT

    doc = json.loads((CHECKOUT / "models" / model / "model.json").read_text())
    ops = Counter(n["op"] for n in doc["modelTopology"]["node"])
    assert ops["SpaceToBatchND"] == ops["DepthwiseConv2dNative"] == 0
    assert ops["FusedDepthwiseConv2dNative"] >= 5


def test_quantization_is_ranked_only_between_tensors_of_one_shape():
    """A plain and a folded conversion name a dilated kernel alike, 3x3 in one and 5x5 in the other."""
    from soroban_vision.export import rank_quantization_error

    kernel = np.ones((3, 3, 4, 1), np.float32)
    reference = {"dw/kernel": kernel, "pw/kernel": np.linspace(-1, 1, 8, dtype=np.float32)}
    deployed = {"dw/kernel": np.ones((5, 5, 4, 1), np.float32), "pw/kernel": reference["pw/kernel"] + 0.01}
    ranking = rank_quantization_error(reference, deployed)
    assert [r["tensor"] for r in ranking] == ["pw/kernel"]
    assert ranking[0]["max_abs_error"] == pytest.approx(0.01, abs=1e-6)
