"""How much memory LoRA training of a model needs, and how much this machine has (RAM and GPUs).

The estimate (`estimate_lora_memory`), in bytes, is the sum of:

- **weights**: parameters x dtype width (the frozen base model; 2 bytes for bf16/fp16).
- **LoRA state**: LoRA parameters x 16 bytes (fp32 weight 4 + gradient 4 + Adam moments 8).
  LoRA parameters = r x (fan-in + fan-out) per targeted Linear; with the hidden size and layer count
  known that is layers x targets x r x 2 x hidden; otherwise parameters x r / 3072 (about 0.5% at
  r=16, what all seven projections of a Llama-class model come to).
- **activations**: layers x batch x seq_len x hidden x 34 x dtype width / 2, the per-layer activation
  memory of a transformer layer without recomputation (Korthikanti et al. 2022, "Reducing Activation
  Recomputation in Large Transformer Models"), leaving out the attention-score term because SDPA /
  flash attention never stores the score matrix; plus the logits, batch x seq_len x vocab x 4 bytes
  x 2 (fp32 logits and their gradient).
- **overhead**: 10% of the above plus 256 MiB for the framework, allocator and CUDA context.

When the hidden size or layer count is unknown they are guessed from the parameter count with the
shape of Llama-like models (parameters ~ 12 x layers x hidden^2, layers ~ hidden / 128). It is an
estimate to warn before a run, not a promise: the trainer's own measurement wins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

DTYPE_BYTES = {"float32": 4, "fp32": 4, "float16": 2, "fp16": 2, "bfloat16": 2, "bf16": 2, "int8": 1, "int4": 0.5}
LORA_BYTES_PER_PARAMETER = 16
ACTIVATION_FACTOR = 34
OVERHEAD_FRACTION = 0.10
OVERHEAD_FIXED = 256 * 2**20
DEFAULT_VOCAB = 32_000
DEFAULT_LORA_TARGETS = 7  # q, k, v, o, gate, up, down


@dataclass(frozen=True)
class MemoryEstimate:
    weights_bytes: int
    lora_bytes: int
    activation_bytes: int
    overhead_bytes: int
    lora_parameters: int

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.lora_bytes + self.activation_bytes + self.overhead_bytes


def estimate_lora_memory(
    parameter_count: int,
    *,
    dtype_bytes: float = 2,
    hidden_size: int | None = None,
    num_layers: int | None = None,
    vocab_size: int | None = None,
    batch_size: int = 8,
    seq_len: int = 512,
    lora_r: int = 16,
    num_lora_targets: int = DEFAULT_LORA_TARGETS,
) -> MemoryEstimate:
    """Bytes that LoRA training of a `parameter_count` model needs at this batch size and sequence length."""
    if parameter_count <= 0:
        raise ValueError("parameter_count must be positive")
    if hidden_size is None or num_layers is None:
        guessed_hidden = round((parameter_count * 128 / 12) ** (1 / 3))
        hidden_size = hidden_size or guessed_hidden
        num_layers = num_layers or max(1, round(guessed_hidden / 128))
        lora_parameters = max(1, parameter_count * lora_r // 3072)
    else:
        lora_parameters = num_layers * num_lora_targets * lora_r * 2 * hidden_size
    weights = int(parameter_count * dtype_bytes)
    lora = lora_parameters * LORA_BYTES_PER_PARAMETER
    tokens = batch_size * seq_len
    activations = int(num_layers * tokens * hidden_size * ACTIVATION_FACTOR * dtype_bytes / 2)
    activations += tokens * (vocab_size or DEFAULT_VOCAB) * 4 * 2
    overhead = int((weights + lora + activations) * OVERHEAD_FRACTION) + OVERHEAD_FIXED
    return MemoryEstimate(weights, lora, activations, overhead, lora_parameters)


@dataclass(frozen=True)
class GpuMemory:
    index: int
    name: str
    total_bytes: int
    free_bytes: int


@dataclass(frozen=True)
class MachineMemory:
    ram_total_bytes: int
    ram_available_bytes: int
    gpus: list[GpuMemory] = field(default_factory=list)
    gpu_note: str = ""  # why no GPUs are listed, when none are

    def training_device(self) -> tuple[str, int]:
        """Where one training process would run and the memory free there: the GPU with most free memory, else RAM."""
        if self.gpus:
            gpu = max(self.gpus, key=lambda g: g.free_bytes)
            return f"GPU {gpu.index} ({gpu.name})", gpu.free_bytes
        return "CPU RAM", self.ram_available_bytes


def machine_memory() -> MachineMemory:
    """RAM from psutil and per-GPU memory from NVML; no GPUs (with the reason) when NVML is missing."""
    import psutil

    vm = psutil.virtual_memory()
    gpus, note = _nvml_gpus()
    return MachineMemory(vm.total, vm.available, gpus, note)


def _nvml_gpus() -> tuple[list[GpuMemory], str]:
    try:
        import pynvml
    except ImportError:
        return [], "nvidia-ml-py is not installed"
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # NVMLError_LibraryNotFound / DriverNotLoaded on machines with no NVIDIA driver
        return [], f"NVML unavailable: {exc}"
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            info = pynvml.nvmlDeviceGetMemoryInfo(handle)
            gpus.append(
                GpuMemory(index, name.decode() if isinstance(name, bytes) else name, int(info.total), int(info.free))
            )
        return gpus, "" if gpus else "no NVIDIA GPUs found"
    except Exception as exc:
        log.warning("reading GPU memory through NVML failed: %s", exc)
        return [], f"NVML error: {exc}"
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def format_bytes(count: int | None) -> str:
    """1536 -> "1.5 KiB"; for messages."""
    if count is None:
        return "unknown"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return f"{value:.1f} TiB"
