"""Benchmark: our trainer's tokens/s, through the real worker path, against the best configuration of each baseline.

Trainers (KINDS), all on the same rows, model, prompt template and LoRA:
- `ours_worker` (the headline): `services.trainer.worker.write_run_spec` writes a run directory and
  `python -m services.trainer.worker --run-dir RUN_DIR` runs it in its own process (`WORKER_ENV` in its
  environment), as the trainer service does. Its artifacts save nothing big (`eval_rows=0,
  sample_generations=0, save_model=False`: the adapter, metrics, loss curve and final checkpoint remain, all
  written after the last step). Every event in `events.jsonl` carries `time` (unix seconds; step events
  also carry `elapsed_seconds`, the same span): the time is the last `step` event's minus the `{"type":
  "state", "state": "running"}` event's, the tokens the last step event's cumulative `tokens`. Peak RSS is
  the worker's, `getrusage(RUSAGE_CHILDREN)` once it has exited; its peak GPU memory is not reported.
- `ours_recipe`: the same `Recipe` called in the bench's own process (printed beside it, not the headline).
- `hf_padded`: Hugging Face `Trainer` + peft with `DataCollatorForSeq2Seq(padding="longest")`.
- `hf_group_by_length`: the same with HF's documented remedy for padding waste, the length-grouped sampler
  (`train_sampling_strategy="group_by_length"` in transformers 5.x, `group_by_length=True` before; the
  installed one is found with `inspect`), grouping within megabatches of 50 batches as it does on a dataset
  of 1,600 examples or more (on the bench's few examples HF would group 4 batches, or none: see
  `large_dataset_grouping`).
- `trl_sft`: TRL's `SFTTrainer` with `SFTConfig(padding_free=True)` on our tokenised rows and labels: each
  batch of 8 is one row with `position_ids` restarting per example and no attention mask. A bench-only
  extra (`.venv/bin/pip install trl`, not in pyproject): skipped, with one line saying why, when it cannot
  be imported or fails on this device.

Every trainer trains LoRA (r=16, alpha=32, dropout 0.05 on q_proj and v_proj) with batch size 8 for one
epoch over the same mixed-length rows (`synthetic_rows`: input and output each 20-400 bytes; the tokenizer is
byte-level), loss on the output only; fp32 on the CPU, bf16 autocast on a GPU (`bf16=True` for the HF and
TRL trainers). Each model of `--models` is benchmarked on its own: tiny (the built-in 3M Llama), small (the
built-in 25M one), 0.5b (a 510M Llama from a config, for a GPU). Tokens are counted identically: the real
(non-pad) tokens of every example trained on, over the training loop only (the start of the first step to
the end of the last; model loading and artifacts excluded).

Each trial runs in a fresh process (so peak RSS is per trainer), all with the OpenMP settings our worker
uses (`WORKER_ENV`: short spin-waits; with the default long spins any trainer becomes 3-20x slower at random
whenever other processes want the cores) and its malloc settings (`keep_freed_memory`: freed activations kept
for the next step rather than unmapped; 13-26% faster for HF's Trainer too), in an order reversed from round
to round because the machine is shared and noisy; medians over `--rounds` are compared. The headline ratio is ours (worker) against the best
baseline: the highest median tokens/s among the baselines whose loss check is valid.

Loss check, before timing: the initial per-example mean losses (LoRA B made non-zero) of our packed forward
against those of each baseline's own batch through the same model: HF's padded batch (hf_group_by_length
uses the same collator and forward, only the order of the examples differs, so one check covers both) and
TRL's padding-free row passed as SFTTrainer passes it. Under sdpa, examples in such a row stay isolated
only if transformers derives a block mask from the restarted `position_ids` (TRL issue #1230: position_ids
alone do not isolate packed examples); if TRL's losses differ by 1e-4 or more it mixes examples, and it is
excluded from the best baseline. Exit status 1 if a valid baseline's check does not match.

Model FLOPs utilisation counts the FLOPs each trainer executes: one extra, untimed run per trainer under
`torch.utils.flop_counter.FlopCounterMode`, over the same span as the timing (the whole epoch), divided by
the same real tokens: forward and backward, HF's padding and our skipping of prompt positions in the last
layer and lm_head included as they happen. FlopCounterMode has no formula for the CPU attention kernel
(`aten._scaled_dot_product_flash_attention_for_cpu` and its backward count 0), so those are added with
torch's own SDPA formulas (the q x k rectangle, less the whole key blocks of up to 512 that an `is_causal`
call skips: nothing up to 512 positions, a quarter at 1024, see `executed_causal_share`; masked-out pairs of
an explicit mask, HF's padding mask or TRL's block mask, are computed, so they count). `causal_lower_right` masks are materialised for that run (a tensor subclass cannot be created
under a dispatch mode; SDPA gets the same mask either way). The worker runs the same `Recipe`, so its FLOPs
are ours_recipe's. MFU = FLOPs/token x median tokens/s / peak, where peak is the device's matmul FLOP/s
(fp32 2048x2048 on the CPU, bf16 8192x8192 on a GPU): the best of 5 short measurements before the trials
and of 5 after, the larger of the two used.

    .venv/bin/python bench/bench_trainer_throughput.py [--models tiny,small] [--examples tiny=128,small=48] [--rounds 3] [--threads N]
    .venv/bin/python bench/bench_trainer_throughput.py --models tiny,small --examples 16 --rounds 1   # a smoke run
    .venv/bin/python bench/bench_trainer_throughput.py --device cuda --model 0.5b --examples 800   # on a GPU

The last lines are one per model: `best-baseline ratio: <r>x (<model>, <fp32|bf16>)`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LORA = dict(lora_r=16, lora_alpha=32, lora_dropout=0.05, target_modules=["q_proj", "v_proj"])
TARGET_RATIO = 2.0
MATCH = 1e-4  # max |difference| of initial per-example losses below which two forwards agree
KINDS = ("ours_worker", "ours_recipe", "hf_padded", "hf_group_by_length", "trl_sft")
BASELINES = ("hf_padded", "hf_group_by_length", "trl_sft")
HEADLINE = "ours_worker"


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# --models: the built-in models, or a Llama of about 0.5B parameters built from a config for a GPU run.
MODELS = ("tiny", "small", "0.5b")
BENCH_05B = dict(hidden_size=1536, num_layers=18, intermediate_size=4096, num_heads=12)
# Examples per model. Measured on 2 shared cores, one trial from process start to exit: tiny with 160 examples
# 20-40 s (trl_sft 80 s), small with 64 examples 40-80 s (trl_sft 110 s), ~35 minutes for 3 rounds and the FLOP
# counts; scaled from those, these defaults take ~5 minutes a round of both models and ~20 minutes in all.
DEFAULT_EXAMPLES = {"tiny": 128, "small": 48, "0.5b": 800}


def model_path(args) -> Path:
    from services.catalog.builtin_models import BUILTIN_PREFIX, TINY_MODEL_ID, BuiltinModel, ensure_builtin_model, save_model

    if args.model == "tiny":
        return ensure_builtin_model(Path(args.data_dir), TINY_MODEL_ID)
    if args.model == "small":
        return ensure_builtin_model(Path(args.data_dir), BUILTIN_PREFIX + "small-llama-25m")
    target = Path(args.data_dir) / "models" / "bench-llama-0.5b"
    if not (target / "config.json").exists():
        save_model(BuiltinModel(id="bench/llama-0.5b", name="bench", description="", **BENCH_05B), target)
    return target


def precision(args) -> str:
    return "fp32" if args.device == "cpu" else "bf16"


def setup(args):
    import torch

    from services.trainer.synthetic import synthetic_rows

    torch.set_num_threads(args.threads or cores())
    model_dir = model_path(args)
    rows = synthetic_rows(args.examples, seed=args.seed, min_length=args.min_length, max_length=args.max_length)
    return model_dir, rows


def training_config(args):
    from services.common.hyperparameters import TrainingConfig

    return TrainingConfig.from_dict(dict(
        learning_rate=2e-4, batch_size=args.batch_size, epochs=1, max_seq_length=args.max_seq_length,
        weight_decay=0.01, max_grad_norm=1.0, scheduler="linear", save_steps=0, seed=args.seed, **LORA,
    ))


def peak_rss_mib(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def peak_gpu_mib() -> float:
    import torch

    return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else 0.0


def matmul_peak(device: str, repeats: int = 5, seconds: float = 0.5) -> float:
    """FLOP/s of a large matmul on this device, in the dtype training computes in (fp32 CPU, bf16 GPU): the
    best of `repeats` short measurements, so that a moment of load from other processes does not lower it."""
    import torch

    n, dtype = (2048, torch.float32) if device == "cpu" else (8192, torch.bfloat16)
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for _ in range(3):
        a @ b
    sync()
    best = 0.0
    for _ in range(repeats):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            a @ b
            count += 1
        sync()
        best = max(best, 2 * n**3 * count / (time.perf_counter() - start))
    return best


def flop_counter():
    """FlopCounterMode that also counts the CPU flash-attention kernels, with torch's formulas for the GPU ones,
    less the key blocks an `is_causal` call skips (`causal_share`), and the in-place `addmm_`."""
    import torch
    from torch.utils import flop_counter as fc

    def causal_share(query, key, is_causal: bool) -> float:  # query, key: torch.Size
        q_len, k_len = query[-2], key[-2]  # shapes: torch passes the formulas shapes, not tensors
        return executed_causal_share(q_len, k_len) if is_causal and q_len == k_len else 1.0

    def forward(query, key, value, dropout_p=0.0, is_causal=False, *args, out_shape=None, **kwargs) -> int:
        return int(fc.sdpa_flop_count(query, key, value) * causal_share(query, key, is_causal))

    def backward(grad_out, query, key, value, out=None, logsumexp=None, dropout_p=0.0, is_causal=False, *args,
                 out_shape=None, **kwargs) -> int:
        return int(fc.sdpa_backward_flop_count(grad_out, query, key, value) * causal_share(query, key, is_causal))

    def addmm_(self, mat1, mat2, *args, out_shape=None, **kwargs) -> int:
        """In place: our fused projections sum their input gradients into one. Not counted by default."""
        return 2 * mat1[0] * mat1[1] * mat2[1]

    aten = torch.ops.aten
    return fc.FlopCounterMode(display=False, custom_mapping={
        aten._scaled_dot_product_flash_attention_for_cpu: forward,
        aten._scaled_dot_product_flash_attention_for_cpu_backward: backward,
        aten.addmm_: addmm_,
    })


def executed_causal_share(q_len: int, k_len: int) -> float:
    """The share of the q x k rectangle that torch's CPU flash kernel computes for `is_causal` (torch 2.13,
    aten/native/cpu/FlashAttentionKernel.cpp): queries in blocks of 32/64/256 (by length), keys in blocks of
    up to 512, and a query block skips only whole key blocks past its last query. Measured here: a causal
    call costs what a full one does up to 512 positions, 0.76 of it at 1024 (this formula: 1.0 and 0.75)."""
    q_split = 256 if q_len >= 768 else 64 if q_len >= 192 else 32
    kv_split = 512 if k_len >= 512 else k_len
    computed = 0
    for start in range(0, q_len, q_split):
        end = min(start + q_split, q_len)
        keys = min(k_len, -(-end // kv_split) * kv_split)
        computed += (end - start) * keys
    return computed / (q_len * k_len)


def counts_cpu_attention() -> bool:
    """Whether a plain FlopCounterMode counts the CPU flash-attention kernel (torch 2.13: it does not)."""
    import torch
    import torch.nn.functional as F
    from torch.utils.flop_counter import FlopCounterMode

    q = torch.randn(1, 2, 16, 8, requires_grad=True)
    with FlopCounterMode(display=False) as counter:
        F.scaled_dot_product_attention(q, q, q, is_causal=True).sum().backward()
    return counter.get_total_flops() > 0


def materialise_causal_bias(device: str) -> None:
    """For a FlopCounterMode run: `causal_lower_right` returns its boolean mask instead of a `CausalBias`.

    A tensor subclass cannot be created while a dispatch mode is active ("the raw Tensor object is already
    associated to a python object"), and our attention for queries that end a longer sequence (the last layer,
    prompt positions skipped) makes one. Away from flash kernels `CausalBias` calls SDPA with exactly this
    mask, so the attention shapes, hence the FLOPs counted, are the same."""
    import torch
    import torch.nn.attention.bias as bias

    def lower_right(seq_len_q: int, seq_len_kv: int) -> torch.Tensor:
        return torch.ones(seq_len_q, seq_len_kv, dtype=torch.bool, device=device).tril(seq_len_kv - seq_len_q)

    bias.causal_lower_right = lower_right


class Window:
    """The measured span of a trial: from the start of the training loop to the end of its last step.

    The trainer's own hooks call `start()` once and `step()` after every optimizer step. With `count_flops`
    a FlopCounterMode is active from `start()` on, and the FLOPs as of the last `step()` are kept."""

    def __init__(self, count_flops: bool = False) -> None:
        self.counter = flop_counter() if count_flops else None
        self.marks: dict[str, float] = {}
        self.losses: list[float] = []
        self.flops = self.attention_flops = 0

    def start(self) -> None:
        self.marks["start"], self.marks["cpu_start"] = time.perf_counter(), time.process_time()
        if self.counter is not None:
            self.counter.__enter__()

    def step(self, loss: float | None = None) -> None:
        self.marks["end"], self.marks["cpu_end"] = time.perf_counter(), time.process_time()
        if loss is not None:
            self.losses.append(loss)
        if self.counter is not None:
            by_op = self.counter.get_flop_counts()["Global"]
            self.flops = sum(by_op.values())
            self.attention_flops = sum(v for op, v in by_op.items() if "attention" in str(op))

    def close(self) -> None:
        if self.counter is not None and "start" in self.marks:
            self.counter.__exit__(None, None, None)
            self.counter = None

    def result(self, tokens: int, steps: int) -> dict:
        return {"tokens": tokens, "seconds": self.marks["end"] - self.marks["start"],
                "cpu_seconds": self.marks["cpu_end"] - self.marks["cpu_start"], "steps": steps,
                "final_loss": self.losses[-1] if self.losses else None, "peak_rss_mib": peak_rss_mib(),
                "peak_gpu_mib": peak_gpu_mib(), "flops": self.flops, "attention_flops": self.attention_flops}


def run_ours_recipe(args, window: Window) -> dict:
    from services.trainer.artifacts import ArtifactOptions
    from services.trainer.recipe import Recipe, RunPaths, TrainingData

    model_dir, rows = setup(args)
    steps: list[dict] = []

    def sink(event: dict) -> None:
        if event["type"] == "state" and event["state"] == "running":
            window.start()
        elif event["type"] == "step":
            window.step(event["train_loss"])
            steps.append(event)

    with tempfile.TemporaryDirectory() as run_dir:
        recipe = Recipe(training_config(args), RunPaths(Path(run_dir), model_dir), TrainingData(rows), sink,
                        artifacts=ArtifactOptions(eval_rows=0, sample_generations=0), device=args.device)
        recipe.setup()
        try:
            recipe.train()
        finally:
            window.close()
            recipe.cleanup()
    return window.result(steps[-1]["tokens"], len(steps))


def run_ours_worker(args, window: Window) -> dict:
    """A run directory run by `python -m services.trainer.worker`, timed from its events (see the docstring)."""
    from services.trainer.worker import EVENTS_FILE, WORKER_ENV, read_jsonl, worker_command, write_run_spec

    del window  # the worker is timed by its own events; its FLOPs are ours_recipe's
    model_dir, rows = setup(args)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        write_run_spec(run_dir, config=training_config(args).to_dict(), model_path=model_dir, train_rows=rows,
                       artifacts={"eval_rows": 0, "sample_generations": 0, "save_model": False},
                       device=args.device, num_threads=args.threads or cores())
        proc = subprocess.run(worker_command(run_dir), cwd=REPO, env={**os.environ, **WORKER_ENV},
                              stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"worker exited with {proc.returncode}:\n{proc.stderr[-4000:]}")
        events = read_jsonl(run_dir / EVENTS_FILE)
    start = next(e["time"] for e in events if e["type"] == "state" and e["state"] == "running")
    steps = [e for e in events if e["type"] == "step"]
    return {"tokens": steps[-1]["tokens"], "seconds": steps[-1]["time"] - start, "cpu_seconds": None,
            "steps": len(steps), "final_loss": steps[-1]["train_loss"],
            "peak_rss_mib": peak_rss_mib(resource.RUSAGE_CHILDREN), "peak_gpu_mib": 0.0}


def hf_model_and_dataset(args, model_dir, rows):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from services.trainer.data import tokenize_rows
    from services.trainer.modeling import load_tokenizer, quiet_peft

    tokenizer = load_tokenizer(model_dir)
    torch.manual_seed(args.seed)
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32, attn_implementation="sdpa")
    model.config.use_cache = False  # as every fine-tuning script does; no KV cache while training
    lora = LoraConfig(r=LORA["lora_r"], lora_alpha=LORA["lora_alpha"], lora_dropout=LORA["lora_dropout"],
                      target_modules=LORA["target_modules"], task_type="CAUSAL_LM")
    with quiet_peft():
        model = get_peft_model(model, lora)
    examples = tokenize_rows(tokenizer, rows, args.max_seq_length).examples
    dataset = [{"input_ids": list(e.input_ids), "attention_mask": [1] * len(e), "labels": e.labels()}
               for e in examples]
    return model, tokenizer, dataset


def padded_collator(tokenizer):
    from transformers import DataCollatorForSeq2Seq

    return DataCollatorForSeq2Seq(tokenizer, padding="longest", label_pad_token_id=-100)


def trl_missing() -> str | None:
    """Why TRL's SFTTrainer cannot run here, or None when it can be imported."""
    try:
        import datasets  # noqa: F401
        import trl  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure means: skip it
        return f"trl is not importable ({type(exc).__name__}: {exc}); `.venv/bin/pip install trl` to include it"
    return None


def trl_collator(tokenizer):
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    return DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id, padding_free=True)


def group_by_length_option() -> dict:
    """HF's length-grouped sampler: `train_sampling_strategy` in transformers 5.x, `group_by_length` before,
    grouping as it does on a dataset of 1,600 examples or more (`large_dataset_grouping`)."""
    import inspect

    from transformers import TrainingArguments

    large_dataset_grouping()

    if "train_sampling_strategy" in inspect.signature(TrainingArguments).parameters:
        return {"train_sampling_strategy": "group_by_length"}
    return {"group_by_length": True}


def large_dataset_grouping(batches_per_group: int = 50) -> None:
    """HF sorts lengths within megabatches of min(examples // (4 x batch size), 50) batches: 50 batches (400
    examples at batch 8) on any dataset of 1,600 examples or more, but 4 for the bench's 128 tiny-model
    examples and 1, no grouping at all, for its 48 small-model ones. Patched to 50 here (for one run of 16
    batches: one group, the whole epoch sorted), the grouping a real dataset gets: the baseline at its best."""
    from transformers import trainer_pt_utils

    original = trainer_pt_utils.get_length_grouped_indices

    def grouped(lengths, batch_size, mega_batch_mult=None, generator=None):
        return original(lengths, batch_size, mega_batch_mult or batches_per_group, generator)

    trainer_pt_utils.get_length_grouped_indices = grouped


def trainer_arguments(args, out: str) -> dict:
    """TrainingArguments (and SFTConfig) fields shared by the HF and TRL trainers."""
    return dict(
        output_dir=out, per_device_train_batch_size=args.batch_size, num_train_epochs=1, learning_rate=2e-4,
        weight_decay=0.01, max_grad_norm=1.0, lr_scheduler_type="linear", warmup_steps=0, seed=args.seed,
        logging_steps=1, save_strategy="no", eval_strategy="no", report_to=[], use_cpu=args.device == "cpu",
        bf16=args.device == "cuda",  # as our trainer: bf16 autocast on a GPU, fp32 on the CPU
        dataloader_num_workers=0, disable_tqdm=True,
    )


def hf_trainer(kind: str, args, out: str, model, tokenizer, dataset, callback):
    if kind == "trl_sft":
        from datasets import Dataset
        from trl import SFTConfig, SFTTrainer

        # Already tokenised with our template and labels; max_length=None: rows are cut to max_seq_length already.
        config = SFTConfig(**trainer_arguments(args, out), padding_free=True, max_length=None)
        rows = Dataset.from_list([{"input_ids": d["input_ids"], "labels": d["labels"]} for d in dataset])
        return SFTTrainer(model=model, args=config, train_dataset=rows, processing_class=tokenizer, callbacks=[callback])
    from transformers import Trainer, TrainingArguments

    sampling = group_by_length_option() if kind == "hf_group_by_length" else {}
    return Trainer(model=model, args=TrainingArguments(**trainer_arguments(args, out), **sampling),
                   train_dataset=dataset, data_collator=padded_collator(tokenizer), callbacks=[callback])


def run_hf(args, window: Window, kind: str) -> dict:
    """One of the Hugging Face trainers (hf_padded, hf_group_by_length, trl_sft), timed by callbacks."""
    from transformers import TrainerCallback

    model_dir, rows = setup(args)
    model, tokenizer, dataset = hf_model_and_dataset(args, model_dir, rows)

    class Clock(TrainerCallback):
        def on_train_begin(self, *a, **k):
            window.start()

        def on_step_end(self, *a, **k):
            window.step()

        def on_log(self, _args, _state, _control, logs=None, **k):
            if logs and "loss" in logs:
                window.losses.append(logs["loss"])

    with tempfile.TemporaryDirectory() as out:
        trainer = hf_trainer(kind, args, out, model, tokenizer, dataset, Clock())
        try:
            result = trainer.train()
        finally:
            window.close()
    return window.result(sum(len(example["input_ids"]) for example in dataset), result.global_step)


def batch_example_losses(model, batch: dict):
    """Mean token loss of each example in a Hugging Face batch (model-shifted labels, -100 ignored): one row
    per example when padded, or one padding-free row whose `position_ids` restart at 0 for each example."""
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
    labels = batch["labels"][:, 1:]
    if "attention_mask" in batch:
        owner = torch.arange(labels.shape[0])[:, None].expand_as(labels)
    else:
        owner = ((batch["position_ids"] == 0).cumsum(-1) - 1)[:, 1:]
    token_losses = F.cross_entropy(logits[:, :-1].transpose(1, 2).float(), labels, reduction="none", ignore_index=-100)
    valid = labels != -100
    count = int(owner.max()) + 1
    sums = torch.zeros(count, dtype=torch.float64).index_add_(0, owner[valid], token_losses[valid].double())
    return sums / torch.bincount(owner[valid], minlength=count)


def compare_initial_losses(args, skipped: dict[str, str], count: int = 6) -> dict[str, float]:
    """Max |difference| of per-example mean losses, ours packed vs each baseline's batch (LoRA B made non-zero)."""
    import torch

    from services.trainer.data import collate, count_targets, tokenize_rows
    from services.trainer.modeling import per_example_losses

    model_dir, rows = setup(args)
    model, tokenizer, dataset = hf_model_and_dataset(args, model_dir, rows[:count])
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.02)
    model.eval()
    examples = tokenize_rows(tokenizer, rows[:count], args.max_seq_length).examples
    ours = per_example_losses(model, collate(examples, packed=True))
    ours = ours / torch.tensor([count_targets(e) for e in examples], dtype=torch.float64)

    batches = {"hf_padded": lambda: padded_collator(tokenizer)(dataset)}
    if "trl_sft" not in skipped:  # TRL's padding-free row, passed to the model as SFTTrainer passes it
        batches["trl_sft"] = lambda: trl_collator(tokenizer)([{k: d[k] for k in ("input_ids", "labels")} for d in dataset])
    diffs = {}
    for kind, make_batch in batches.items():
        try:
            theirs = batch_example_losses(model, make_batch())
        except Exception as exc:  # noqa: BLE001 - only the optional trainer may fail here
            if kind not in OPTIONAL:
                raise
            skip(skipped, kind, f"its loss check failed ({type(exc).__name__}: {exc})")
            continue
        print(f"  initial per-example loss, ours packed | {kind}: "
              + ", ".join(f"{a:.6f}|{b:.6f}" for a, b in zip(ours.tolist(), theirs.tolist())))
        diffs[kind] = float((ours - theirs).abs().max())
    diffs["hf_group_by_length"] = diffs["hf_padded"]  # the same collator and forward; only the order differs
    return diffs


TRIALS = {"ours_worker": run_ours_worker, "ours_recipe": run_ours_recipe}


def run_trial(kind: str, args) -> dict:
    from services.trainer.worker import keep_freed_memory

    keep_freed_memory()  # every trainer gets our worker's malloc settings, as each gets its OpenMP ones
    window = Window(count_flops=args.count_flops)
    if args.count_flops:
        materialise_causal_bias(args.device)
    if kind in TRIALS:
        return TRIALS[kind](args, window)
    return run_hf(args, window, kind)


class TrialFailed(RuntimeError):
    pass


OPTIONAL = ("trl_sft",)  # a bench-only extra: skipped, with one line saying why, when it cannot run here


def skip(skipped: dict[str, str], kind: str, reason: str) -> None:
    skipped[kind] = reason
    print(f"skipping {kind}: {reason}", flush=True)


def optional_child(kind: str, args, skipped: dict[str, str], count_flops: bool = False) -> dict | None:
    """`child`, except that an optional trainer which fails is skipped from then on (None)."""
    try:
        return child(kind, args, count_flops)
    except TrialFailed as exc:
        if kind not in OPTIONAL:
            raise SystemExit(f"{kind} trial failed:\n{exc}")
        skip(skipped, kind, f"it failed on {args.device}: {str(exc).splitlines()[-1]}")
        return None


def child(kind: str, args, count_flops: bool = False) -> dict:
    from services.trainer.worker import WORKER_ENV

    command = [sys.executable, __file__, "--child", kind, *forwarded(args)] + (["--count-flops"] if count_flops else [])
    # The same OpenMP settings for every trainer: the ones our worker runs with (see WORKER_ENV).
    env = {**os.environ, **WORKER_ENV}
    proc = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env)
    if proc.returncode != 0:
        raise TrialFailed(proc.stderr.strip()[-4000:] or f"exit status {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def forwarded(args) -> list[str]:
    return ["--examples", str(args.examples), "--batch-size", str(args.batch_size), "--max-seq-length",
            str(args.max_seq_length), "--min-length", str(args.min_length), "--max-length", str(args.max_length),
            "--seed", str(args.seed), "--data-dir", args.data_dir, "--threads", str(args.threads),
            "--device", args.device, "--model", args.model]


def gpu_memory(mib: float) -> str:
    return f", peak GPU memory {mib:.0f} MiB" if mib else ""


def rate(r: dict) -> float:
    return r["tokens"] / r["seconds"]


def examples_per_model(text: str, models: list[str]) -> dict[str, int]:
    """`--examples 16` (every model) or `--examples tiny=160,small=64` (others keep their defaults)."""
    counts = dict(DEFAULT_EXAMPLES)
    for part in filter(None, text.split(",")):
        name, _, value = part.rpartition("=")
        for model in ([name] if name else models):
            counts[model] = int(value)
    return {m: counts[m] for m in models}


def round_line(label: str, kind: str, r: dict) -> str:
    per_cpu = f", {r['tokens'] / r['cpu_seconds']:6.0f} per CPU-second" if r["cpu_seconds"] else ""
    loss = f", final loss {r['final_loss']:.4f}" if r["final_loss"] is not None else ""
    return (f"{label} {kind:>18}: {rate(r):7.0f} tokens/s{per_cpu} ({r['tokens']} tokens, {r['steps']} steps, "
            f"{r['seconds']:.1f} s{loss}, peak RSS {r['peak_rss_mib']:.0f} MiB{gpu_memory(r['peak_gpu_mib'])}, "
            f"load {os.getloadavg()[0]:.1f})")


def count_flops(args, skipped: dict[str, str]) -> dict[str, dict]:
    """Executed FLOPs per real token of each trainer, from one untimed FlopCounterMode run each."""
    counted = {}
    for kind in KINDS:
        if kind == "ours_worker" or kind in skipped:
            continue  # the worker runs the same Recipe as ours_recipe
        if (r := optional_child(kind, args, skipped, count_flops=True)) is None:
            continue
        counted[kind] = {"per_token": r["flops"] / r["tokens"], "attention_share": r["attention_flops"] / max(r["flops"], 1)}
        print(f"  executed FLOPs {kind:>18}: {r['flops'] / r['tokens'] / 1e6:8.2f} MFLOP a token "
              f"({100 * counted[kind]['attention_share']:.0f}% attention), over {r['tokens']} tokens", flush=True)
    if "ours_recipe" in counted:
        counted["ours_worker"] = counted["ours_recipe"]
    return counted


def bench_model(args, skipped: dict[str, str]) -> dict:
    """Loss checks, FLOP counts and the timed rounds of every trainer on one model."""
    print(f"\n== {args.model} ({precision(args)}, {args.device}): {args.examples} examples, batch {args.batch_size}, "
          f"lengths {args.min_length}-{args.max_length} bytes per field, {args.rounds} round(s)", flush=True)
    diffs = compare_initial_losses(args, skipped)
    flops = count_flops(args, skipped)
    results: dict[str, list[dict]] = {k: [] for k in KINDS}
    for round_index in range(args.rounds):
        for kind in (KINDS if round_index % 2 == 0 else KINDS[::-1]):
            if kind in skipped or (r := optional_child(kind, args, skipped)) is None:
                continue
            results[kind].append(r)
            print(round_line(f"round {round_index + 1} {args.model}", kind, r), flush=True)
    return {"diffs": diffs, "flops": flops, "results": {k: v for k, v in results.items() if v and k not in skipped}}


def summarise(args, bench: dict, peak: float) -> tuple[float, bool]:
    """Prints the model's table; returns the best-baseline ratio and whether every valid baseline matched."""
    results, diffs, flops = bench["results"], bench["diffs"], bench["flops"]
    median = {k: statistics.median(rate(r) for r in v) for k, v in results.items()}
    rss = {k: max(r["peak_rss_mib"] for r in v) for k, v in results.items()}
    print(f"\n{args.model} ({precision(args)}): median tokens/s, peak RSS, executed FLOPs a token, MFU, loss check")
    for kind, value in median.items():
        cpu = [r["tokens"] / r["cpu_seconds"] for r in results[kind] if r["cpu_seconds"]]
        per_cpu = (f"{statistics.median(cpu):6.0f}" if cpu else f"{'n/a':>6}") + " per CPU-s"
        gpu = max(r["peak_gpu_mib"] for r in results[kind])
        gpu_text = ", peak GPU memory n/a" if args.device == "cuda" and not gpu else gpu_memory(gpu)
        mfu = f"MFU {100 * flops[kind]['per_token'] * value / peak:5.1f}%" if kind in flops else "MFU n/a"
        check = "" if kind not in diffs else f", loss check {diffs[kind]:.1e} ({'match' if diffs[kind] < MATCH else 'MISMATCH'})"
        per_token = f"{flops[kind]['per_token'] / 1e6:7.2f} MFLOP/token" if kind in flops else ""
        print(f"  {kind:>18}: {value:7.0f} tokens/s {per_cpu}, peak RSS {rss[kind]:5.0f} MiB{gpu_text}, "
              f"{per_token}, {mfu}{check}")
    print("  (MFU counts the FLOPs executed: padding and masked-out attention included; ours_worker's are "
          "ours_recipe's, the same Recipe)")
    mixing = ["trl_sft"] if "trl_sft" in results and diffs.get("trl_sft", 0.0) >= MATCH else []
    for kind in mixing:
        print(f"  {kind} mixes examples (its losses differ from each example's own: position_ids without a "
              f"block mask under sdpa, TRL issue #1230); excluded from the best baseline")
    valid = [k for k in BASELINES if k in results and k not in mixing]
    best = max(valid, key=median.get)
    ratio = median[HEADLINE] / median[best]
    paired = [rate(o) / rate(b) for o, b in zip(results[HEADLINE], results[best])]
    print(f"  best baseline: {best} ({median[best]:.0f} tokens/s); ours (worker) {median[HEADLINE]:.0f} tokens/s: "
          f"{ratio:.2f}x (paired rounds {', '.join(f'{x:.2f}' for x in paired)}); ours (Recipe in-process) "
          f"{median['ours_recipe'] / median[best]:.2f}x; target >= {TARGET_RATIO}x")
    print(f"  peak RSS: ours (worker) {rss[HEADLINE]:.0f} MiB vs best baseline ({best}) {rss[best]:.0f} MiB "
          f"({rss[HEADLINE] / rss[best]:.2f}x)")
    if HEADLINE in flops:
        print(target_demand(median[best], flops[HEADLINE], median[HEADLINE], peak))
    return ratio, all(diffs[k] < MATCH for k in valid)


def target_demand(best_rate: float, ours: dict, ours_rate: float, peak: float) -> str:
    """What TARGET_RATIO asks of this machine: the MFU ours would need over the FLOPs it executes, and the share
    of the matmul peak its projections alone would need (their forward and input gradients, which no LoRA
    step can skip; attention is the rest of its FLOPs)."""
    needed = TARGET_RATIO * best_rate
    projections = ours["per_token"] * (1 - ours["attention_share"])
    return (f"  the {TARGET_RATIO}x target: ours at {needed:.0f} tokens/s, an MFU of {100 * needed * ours['per_token'] / peak:.0f}% "
            f"(now {100 * ours_rate * ours['per_token'] / peak:.0f}%); its projections alone ({projections / 1e6:.1f} "
            f"MFLOP a token) at {100 * needed * projections / peak:.0f}% of the matmul peak, everything else "
            f"(attention, norms, activations, optimizer) free")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="tiny,small", help=f"comma-separated, from {', '.join(MODELS)}")
    parser.add_argument("--model", choices=MODELS, help="one model (instead of --models)")
    parser.add_argument("--examples", default="", help="N for every model, or per model: tiny=128,small=48 "
                                                       f"(defaults {DEFAULT_EXAMPLES})")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-seq-length", type=int, default=1024)
    parser.add_argument("--min-length", type=int, default=20)
    parser.add_argument("--max-length", type=int, default=400)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: the cores available)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="cuda: bf16 autocast for every trainer")
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--count-flops", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        import warnings

        warnings.filterwarnings("ignore")
        args.examples = int(args.examples)
        print(json.dumps(run_trial(args.child, args)))
        return 0

    from services.trainer.worker import use_worker_env

    use_worker_env()  # before torch is imported here, as for the trials (matmul peak, loss checks)
    models = [args.model] if args.model else [m.strip() for m in args.models.split(",") if m.strip()]
    if unknown := set(models) - set(MODELS):
        parser.error(f"unknown models {sorted(unknown)}; choose from {', '.join(MODELS)}")
    examples = examples_per_model(args.examples, models)
    load_start = os.getloadavg()[0]
    print(f"{cores()} cores, load average {load_start:.2f} at the start; models {', '.join(models)}")
    skipped: dict[str, str] = {}
    if reason := trl_missing():
        skip(skipped, "trl_sft", reason)
    peak_before = matmul_peak(args.device)
    native = counts_cpu_attention()
    print(f"FlopCounterMode counts aten._scaled_dot_product_flash_attention_for_cpu (and its backward): "
          f"{'yes' if native else 'no'}; the bench counts them with torch's SDPA formulas")
    benches = {}
    with tempfile.TemporaryDirectory() as data_dir:
        args.data_dir = args.data_dir or data_dir
        for model in models:
            margs = argparse.Namespace(**{**vars(args), "model": model, "examples": examples[model]})
            benches[model] = (margs, bench_model(margs, skipped))
    peak_after = matmul_peak(args.device)
    peak = max(peak_before, peak_after)
    print(f"\n{precision(args)} matmul peak (best of 5): {peak_before / 1e12:.3f} TFLOP/s before the trials, "
          f"{peak_after / 1e12:.3f} after; MFU uses {peak / 1e12:.3f}")
    lines, ok = [], True
    for model, (margs, bench) in benches.items():
        ratio, matched = summarise(margs, bench, peak)
        ok &= matched
        lines.append(f"best-baseline ratio: {ratio:.2f}x ({model}, {precision(margs)})")
    print(f"\nShared machine: load average {load_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end; "
          f"loss checks {'all matched' if ok else 'MISMATCH'}")
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
