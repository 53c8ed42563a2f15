"""The LoRA memory estimate and the machine's memory."""

import pytest

from services.common.memory import GpuMemory, MachineMemory, estimate_lora_memory, format_bytes, machine_memory

GiB = 2**30


def test_llama_8b_estimate_by_the_documented_formula():
    est = estimate_lora_memory(
        8_030_261_248, hidden_size=4096, num_layers=32, vocab_size=128_256, batch_size=8, seq_len=512
    )
    assert est.weights_bytes == 8_030_261_248 * 2
    assert est.lora_parameters == 32 * 7 * 16 * 2 * 4096
    assert est.lora_bytes == est.lora_parameters * 16
    assert est.activation_bytes == 32 * 8 * 512 * 4096 * 34 + 8 * 512 * 128_256 * 8
    assert 40 * GiB < est.total_bytes < 42 * GiB


def test_estimate_without_shape_guesses_a_llama_like_one():
    known = estimate_lora_memory(8_030_261_248, hidden_size=4096, num_layers=32)
    guessed = estimate_lora_memory(8_030_261_248)
    assert guessed.lora_parameters == 8_030_261_248 * 16 // 3072
    assert 0.8 < guessed.total_bytes / known.total_bytes < 1.25


def test_estimate_grows_with_batch_and_sequence():
    small = estimate_lora_memory(1_100_000_000, batch_size=1, seq_len=256)
    large = estimate_lora_memory(1_100_000_000, batch_size=8, seq_len=2048)
    assert large.activation_bytes == pytest.approx(small.activation_bytes * 64, rel=1e-6)
    assert large.weights_bytes == small.weights_bytes


def test_estimate_rejects_nonsense():
    with pytest.raises(ValueError):
        estimate_lora_memory(0)


def test_machine_memory_reads_ram_and_degrades_without_nvml():
    machine = machine_memory()
    assert machine.ram_total_bytes >= machine.ram_available_bytes > 0
    assert isinstance(machine.gpus, list)
    if not machine.gpus:  # this CPU-only machine: the reason, and training on RAM
        assert machine.gpu_note
        assert machine.training_device() == ("CPU RAM", machine.ram_available_bytes)


def test_training_device_is_the_gpu_with_most_free_memory():
    machine = MachineMemory(
        64 * GiB, 32 * GiB, [GpuMemory(0, "A", 80 * GiB, 10 * GiB), GpuMemory(1, "B", 80 * GiB, 70 * GiB)]
    )
    assert machine.training_device() == ("GPU 1 (B)", 70 * GiB)


def test_format_bytes():
    assert (format_bytes(512), format_bytes(1536), format_bytes(3 * GiB), format_bytes(None)) == (
        "512 B",
        "1.5 KiB",
        "3.0 GiB",
        "unknown",
    )
