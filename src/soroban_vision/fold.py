"""A Keras model rewritten, for the TF.js converter, into an equal one that runs in fewer kernels.

The converter fuses a Conv2D's batch norm and ReLU into one kernel, but not a depthwise
convolution's: TF.js then runs a Mul, an Add and a Relu after each one. And TF lowers a dilated
depthwise convolution to SpaceToBatchND and BatchToSpaceND, which tfjs-backend-wasm runs in
JavaScript (on the frame model, 3.7 of its 10 ms a call in Node). So, before converting:
- a depthwise convolution's batch norm is folded into its kernel and a bias (the batch norm's
  layer stays, as a pass-through, so the graph keeps its shape and names);
- a dilated depthwise kernel is spelled out, zeros between its taps, with no dilation: with
  padding "same" and stride 1 both pad alike, so each output sums the same products.

The answers differ from the model's only by float rounding; the export checks them against Keras.
"""

from __future__ import annotations

import numpy as np

VERSION = 2  # what fold_for_tfjs does: caches of folded conversions carry it


def _source(layer):
    """The one layer feeding `layer`, or None."""
    nodes = layer._inbound_nodes
    if len(nodes) != 1 or len(nodes[0].input_tensors) != 1:
        return None
    return nodes[0].input_tensors[0]._keras_history.operation


def _foldable(model) -> dict[str, str]:
    """{batch norm's name: the depthwise convolution's name} for each batch norm that alone reads a
    depthwise convolution without a bias, over its channels (and the convolution's output is no
    output of the model)."""
    from keras import layers

    out = {}
    outputs = {id(t) for t in model.outputs}
    for layer in model.layers:
        if not isinstance(layer, layers.BatchNormalization) or not (layer.center and layer.scale):
            continue
        if layer.axis not in (-1, 3):
            continue
        dw = _source(layer)
        if not isinstance(dw, layers.DepthwiseConv2D) or len(dw._outbound_nodes) != 1:
            continue
        linear = dw.get_config().get("activation") in (None, "linear")  # the batch norm reads w*x as it is
        plain = not dw.use_bias and dw.data_format == "channels_last" and linear
        channels = dw.kernel.shape[2] * dw.depth_multiplier
        if plain and layer.gamma.shape[0] == channels and id(dw.output) not in outputs:
            out[layer.name] = dw.name
    return out


def _spelled_size(kernel_size, dilation: int) -> tuple[int, int]:
    """A kh x kw kernel dilated by d spans ((kh-1)d+1) x ((kw-1)d+1) pixels."""
    return tuple((k - 1) * dilation + 1 for k in kernel_size[:2])


def _spelled_out(kernel: np.ndarray, dilation: int) -> np.ndarray:
    """A dilated kernel as a dense one of its span, zeros between its taps."""
    dense = np.zeros((*_spelled_size(kernel.shape, dilation), *kernel.shape[2:]), kernel.dtype)
    dense[::dilation, ::dilation] = kernel
    return dense


def _folded_away_layer():
    from keras import layers

    class FoldedAway(layers.Layer):
        """Where a folded batch norm was: passes its input on (and takes the batch norm's call
        arguments, which the clone hands it)."""

        def call(self, inputs, training=None, mask=None):
            return inputs

    return FoldedAway


def fold_for_tfjs(model):
    """`model` with each depthwise convolution's batch norm folded in and its dilation spelled out;
    `model` itself when there is nothing to fold."""
    import keras
    from keras import layers

    if not isinstance(model, keras.Sequential) and type(model).__name__ != "Functional":
        return model  # a subclassed model has no graph to rebuild
    folds = _foldable(model)
    dilated = {
        layer.name
        for layer in model.layers
        if isinstance(layer, layers.DepthwiseConv2D)
        and tuple(layer.dilation_rate) != (1, 1)
        and tuple(layer.strides) == (1, 1)
        and layer.padding == "same"
        and len(set(layer.dilation_rate)) == 1
    }
    if not folds and not dilated:
        return model
    folded_dw = set(folds.values())
    folded_away = _folded_away_layer()

    def rebuilt(layer):
        config = layer.get_config()
        if layer.name in folds:
            return folded_away(name=layer.name)
        if layer.name in folded_dw:
            config["use_bias"] = True
        if layer.name in dilated:
            config["kernel_size"] = _spelled_size(layer.kernel_size, layer.dilation_rate[0])
            config["dilation_rate"] = (1, 1)
        return layer.__class__.from_config(config)

    clone = keras.models.clone_model(model, clone_function=rebuilt)
    bn_of = {dw: bn for bn, dw in folds.items()}
    # paired in order, not by name: the clone renames an unnamed input layer
    for source, layer in zip(model.layers, clone.layers, strict=True):
        if source.name in folds:
            continue
        weights = source.get_weights()
        if source.name in dilated:
            weights[0] = _spelled_out(weights[0], source.dilation_rate[0])
        if source.name in bn_of:
            bn = model.get_layer(bn_of[source.name])
            gamma, beta, mean, var = (np.asarray(w, np.float64) for w in bn.get_weights())
            scale = gamma / np.sqrt(var + bn.epsilon)
            # depthwise kernel [kh, kw, channels, multiplier]: output channel c*m + j has scale[c*m + j]
            kernel = weights[0].astype(np.float64)
            kernel = kernel * scale.reshape(kernel.shape[2], kernel.shape[3])
            weights = [kernel.astype(np.float32), (beta - mean * scale).astype(np.float32)]
        layer.set_weights(weights)
    return clone
