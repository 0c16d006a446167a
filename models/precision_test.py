"""Mixed precision: what `auto` picks, and what stays float32 in a bfloat16 model."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from models import precision, registry, training
from models.metrics import gap, top_k
from models.training_test import learnable_problem, parsed_batches


def _cpuinfo(tmp_path, flags: str) -> str:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: A CPU\nflags\t\t: fpu sse2 {flags}\n\n"
                    f"processor\t: 1\nflags\t\t: fpu sse2 {flags}\n")
    return str(path)


def test_bfloat16_units_are_read_from_the_cpu_flags(tmp_path):
    assert precision.cpu_bfloat16_flags(_cpuinfo(tmp_path, "avx512f avx512_bf16")) == ["avx512_bf16"]
    assert precision.cpu_bfloat16_flags(_cpuinfo(tmp_path, "amx_tile amx_bf16 avx512_bf16")) == [
        "amx_bf16", "avx512_bf16"]
    assert precision.cpu_bfloat16_flags(_cpuinfo(tmp_path, "avx512f avx512_vnni")) == []
    assert precision.cpu_bfloat16_flags(str(tmp_path / "missing")) == []


def test_resolve_keeps_frame_level_families_in_float32_and_refuses_unknown_names():
    assert precision.resolve("float32") == "float32"
    assert precision.resolve("mixed_bfloat16") == "mixed_bfloat16"
    assert precision.resolve("auto") in ("float32", "mixed_bfloat16")
    assert precision.resolve("mixed_bfloat16", reads_frames=True) == "float32"
    with pytest.raises(ValueError, match="precision must be one of"):
        precision.resolve("float16")


@pytest.mark.parametrize("family, kwargs", [("mlp", {"hidden_size": 16}), ("moe", {"num_mixtures": 2}),
                                            ("resnet_like", {"inner_size": 16})])
def test_a_mixed_model_computes_in_bfloat16_on_float32_weights_and_outputs_float32(family, kwargs):
    model = registry.build_model(family, 30, precision="mixed_bfloat16", **kwargs)
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after the build
    assert model.outputs[0].dtype == tf.float32
    assert {variable.dtype for variable in model.variables} == {tf.float32}
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert dense and {layer.compute_dtype for layer in dense} == {"bfloat16"}
    assert model.get_layer("l2_normalize").compute_dtype == "float32"
    logits = model(np.random.default_rng(0).normal(size=(4, 1152)).astype(np.float32))
    assert logits.dtype == tf.float32 and np.isfinite(logits.numpy()).all()


def test_a_subset_model_in_mixed_precision_outputs_float32_logits_over_every_class():
    model = registry.build_subset_model("mlp", [3, 7], 10, precision="mixed_bfloat16", hidden_size=8)
    logits = model(np.ones((2, 1152), np.float32)).numpy()
    assert model.outputs[0].dtype == tf.float32 and logits.shape == (2, 10)
    assert (logits[:, [0, 1, 2, 4, 5, 6, 8, 9]] == -30.0).all()


def test_mixed_precision_learns_as_float32_does():
    features, targets = learnable_problem()
    labels = [np.flatnonzero(row) for row in targets]
    train, validation = slice(0, 1600), slice(1600, 2000)
    gaps = {}
    for name in ("float32", "mixed_bfloat16"):
        recipe = training.TrainingRecipe(batch_size=64, max_epochs=4, learning_rate=1e-2, precision=name)
        dataset = tf.data.Dataset.from_tensor_slices((features[train], targets[train])).batch(64)
        keras.utils.set_random_seed(0)
        model = registry.build_model("mlp", 20, precision=name, hidden_size=64, dropout=0.0)
        training.fit(model, dataset, parsed_batches(features[validation], labels[validation]), recipe)
        gaps[name] = gap(*top_k(training.probabilities(model, features[validation])), labels[validation])
    assert gaps["float32"] > 0.5
    assert gaps["mixed_bfloat16"] == pytest.approx(gaps["float32"], abs=0.02)
