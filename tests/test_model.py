import numpy as np
import pytest

from soroban_vision.errors import UsageError
from soroban_vision.model import ARCHITECTURES, architecture, build_model, load_model, weight_bytes


@pytest.fixture(scope="module", params=["compact", "mobilenetv2"])
def model(request):
    return build_model(request.param)


def test_input_and_output_contract(model):
    assert [t.name for t in model.inputs] == ["image"]
    assert tuple(model.inputs[0].shape) == (None, 128, 64, 1)
    x = np.random.default_rng(0).uniform(0, 1, (3, 128, 64, 1)).astype("float32")
    out = model(x, training=False)
    assert set(out) == {"heaven", "earth"}
    assert tuple(out["heaven"].shape) == (3, 1) and tuple(out["earth"].shape) == (3, 5)
    h, e = np.asarray(out["heaven"]), np.asarray(out["earth"])
    assert ((h >= 0) & (h <= 1)).all()
    np.testing.assert_allclose(e.sum(axis=1), 1.0, atol=1e-5)


def test_normalization_is_inside_the_model(model):
    rescaling = [layer for layer in model.layers if layer.__class__.__name__ == "Rescaling"]
    assert len(rescaling) == 1
    assert float(rescaling[0].scale) == 2.0 and float(rescaling[0].offset) == -1.0


def test_compact_is_small_and_much_smaller_than_the_reference():
    compact, reference = build_model("compact"), build_model("mobilenetv2")
    assert weight_bytes(compact) <= 300 * 1024
    assert weight_bytes(reference) >= 5 * weight_bytes(compact)


def test_a_new_architecture_is_one_function():
    import keras

    @architecture("tiny-test")
    def tiny():
        inputs = keras.Input((128, 64, 1), name="image")
        x = keras.layers.GlobalAveragePooling2D()(inputs)
        return keras.Model(
            inputs,
            {
                "heaven": keras.layers.Dense(1, activation="sigmoid", name="heaven")(x),
                "earth": keras.layers.Dense(5, activation="softmax", name="earth")(x),
            },
        )

    try:
        assert build_model("tiny-test").name
    finally:
        del ARCHITECTURES["tiny-test"]


def test_unknown_architecture_is_a_usage_error():
    with pytest.raises(
        UsageError, match="unknown architecture 'resnet'; choose one of: compact, mobilenetv2"
    ):
        build_model("resnet")


def test_missing_local_weights_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        build_model("mobilenetv2", weights=str(tmp_path / "imagenet.h5"))


def test_save_and_load_round_trip(tmp_path):
    m = build_model("compact")
    m.save(tmp_path / "model.keras")
    x = np.full((1, 128, 64, 1), 0.5, "float32")
    for where in (tmp_path / "model.keras", tmp_path):
        again = load_model(where)
        np.testing.assert_allclose(again(x)["earth"], m(x)["earth"], atol=1e-6)


def test_bad_model_paths_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_model(tmp_path / "nope.keras")
    with pytest.raises(UsageError, match=r"holds no \.keras model"):
        load_model(tmp_path)
    (tmp_path / "broken.keras").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(UsageError, match="cannot load model"):
        load_model(tmp_path / "broken.keras")
