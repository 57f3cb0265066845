"""Encoders: hashing stand-in, and the real all-MiniLM-L6-v2 against sentence-transformers."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.assistance import (
    Encoder,
    HashingEncoder,
    TextEncoder,
    default_model_path,
    encode,
    get_encoder,
    model_files_hash,
    native_bf16,
)

TEXTS = [
    "Global warming is driving polar bears toward extinction.",
    "The Arctic is warming about four times faster than the global average.",
    "CO2",
    "Volcanoes emit far less carbon dioxide than human activity does, by a factor of about one hundred, "
    "according to the US Geological Survey's estimates of annual emissions from subaerial and submarine volcanoes.",
    "I had pancakes for breakfast.",
]


def test_hashing_encoder_is_deterministic_normalised_and_lexical() -> None:
    encoder = get_encoder("hashing")
    assert isinstance(encoder, TextEncoder) and isinstance(encoder, HashingEncoder)
    a, b = encoder.encode(TEXTS), HashingEncoder().encode(TEXTS)
    assert a.dtype == np.float32 and a.shape == (5, 512)
    assert np.array_equal(a, b)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    sims = a @ a.T
    assert sims[0, 1] > sims[0, 4]  # shared words beat none
    assert encoder.encode([]).shape == (0, 512)


def test_unknown_encoder_name_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown encoder 'bert'"):
        get_encoder("bert")


def test_missing_model_directory_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FileNotFoundError, match="encoder model directory not found"):
        Encoder(tmp_path / "absent")


def test_model_hash_changes_with_file_content(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.bin").write_bytes(b"one")
    first = model_files_hash(tmp_path)
    assert first == model_files_hash(tmp_path)
    (tmp_path / "a.bin").write_bytes(b"two")
    assert model_files_hash(tmp_path) != first


@pytest.fixture(scope="module")
def assist_real_encoder() -> Encoder:
    return Encoder()


def test_real_encoder_agrees_with_sentence_transformers(assist_real_encoder: Encoder) -> None:
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(default_model_path()), device="cpu").encode(TEXTS, normalize_embeddings=True)
    ours = assist_real_encoder.encode(TEXTS)
    assert ours.dtype == np.float32 and ours.shape == (5, 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosine = (ours * reference).sum(axis=1)
    assert cosine.min() >= 0.99, cosine
    # order of the input must not matter (we sort by length internally): exact in fp32; in
    # bfloat16 a text's padding width follows its batch neighbours, so agree to cosine 0.999
    assert _same(assist_real_encoder.encode(TEXTS[::-1])[::-1], ours, assist_real_encoder.bf16)
    assert _same(encode(TEXTS[:2]), ours[:2], assist_real_encoder.bf16)  # module-level cached default


def _same(a: np.ndarray, b: np.ndarray, bf16: bool) -> bool:
    return bool((a * b).sum(axis=1).min() >= 0.999) if bf16 else np.allclose(a, b, atol=1e-5)


def test_real_encoder_ranks_related_text_higher(assist_real_encoder: Encoder) -> None:
    vecs = assist_real_encoder.encode(TEXTS)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[4]
    suffix = "+bf16" if assist_real_encoder.bf16 else ""
    assert assist_real_encoder.version == model_files_hash(default_model_path()) + suffix


def test_bf16_is_used_where_the_cpu_has_it_and_agrees_with_fp32() -> None:
    fp32 = Encoder(precision="fp32")
    assert not fp32.bf16 and fp32.version == model_files_hash(default_model_path())
    forced = Encoder(precision="bf16")
    assert forced.agreement is not None
    assert forced.bf16 == (forced.agreement >= 0.99)
    assert Encoder().bf16 == (native_bf16() and forced.bf16)  # "auto"
    if forced.bf16:
        import torch

        assert next(forced._net.parameters()).dtype == torch.bfloat16
        assert forced.version.endswith("+bf16")
        cosine = (forced.encode(TEXTS) * fp32.encode(TEXTS)).sum(axis=1)
        assert cosine.min() >= 0.99, cosine
        assert forced.encode(TEXTS).dtype == np.float32


def test_quantised_encoder_is_kept_only_when_it_agrees(assist_real_encoder: Encoder) -> None:
    quantised = Encoder(quantize=True)
    assert quantised.agreement is not None
    assert quantised.quantized == (quantised.agreement >= 0.99)
    cosine = (quantised.encode(TEXTS) * assist_real_encoder.encode(TEXTS)).sum(axis=1)
    assert cosine.min() >= 0.98
    if quantised.quantized:
        assert quantised.version.endswith("+int8-attention")


def test_parallel_batches_equal_one_at_a_time_and_restore_torch_threads() -> None:
    import torch

    texts = [f"{t} (variant {i})" * (1 + i % 3) for i, t in enumerate(TEXTS * 5)]
    threads = torch.get_num_threads()
    parallel = Encoder(batch_size=4, workers=2, precision="fp32")
    assert len(parallel._batches(parallel._tokenizer(texts)["input_ids"])) > 2  # several batches in flight
    serial = Encoder(batch_size=4, workers=1, precision="fp32").encode(texts)
    assert np.allclose(parallel.encode(texts), serial, atol=1e-5)
    assert torch.get_num_threads() == threads
