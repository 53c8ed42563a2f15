"""Benchmark: the trainer recipe's tokens/s against Hugging Face `Trainer` + peft with a padding collator.

Both train the built-in tiny Llama with LoRA (r=16, alpha=32, dropout=0.05 on q_proj and v_proj), fp32
on the CPU, batch size 8, one epoch over the same mixed-length rows (input and output each 20-400
bytes; the tokenizer is byte-level), with the same prompt template and loss-on-output-only labels.
Tokens are counted identically: the real (non-pad) tokens of every example trained on, divided by
the time of the training loop (first step to last; model loading and artifacts excluded).

Each trial runs in a fresh process (so that peak RSS is per trainer), alternating the two because
the machine is shared and noisy; the ratio of the medians is the result. Both run with the OpenMP
settings our worker uses (`WORKER_ENV`: threads spin only briefly while they wait for work; with the
default long spins either trainer becomes 3-20x slower at random whenever other processes want the cores). Before timing, the initial
per-example losses are computed both ways (our packed forward, and a padded batch as Trainer sees
it) to show that both optimise the same objective.

    .venv/bin/python bench/bench_trainer_throughput.py [--examples 120] [--rounds 5] [--threads N]
    .venv/bin/python bench/bench_trainer_throughput.py --device cuda --model 0.5b --examples 800   # on a GPU

Also printed: model FLOPs utilisation of both (4 x matmul parameters per token: the forward and the input
gradients; a frozen base gets no weight gradients) against the device's matmul peak measured in the same
run (fp32 on the CPU, bf16 on a GPU), and peak GPU memory on a GPU.
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


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# --model: the built-in models, or a Llama of about 0.5B parameters built from a config for a GPU run.
MODELS = ("tiny", "small", "0.5b")
BENCH_05B = dict(hidden_size=1536, num_layers=18, intermediate_size=4096, num_heads=12)


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


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_gpu_mib() -> float:
    import torch

    return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else 0.0


def matmul_parameters(model_dir: Path) -> int:
    """N in the model FLOPs per token: the weights of every matmul (embeddings are lookups, not matmuls)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(str(model_dir)))
    return sum(p.numel() for name, p in model.named_parameters() if p.dim() == 2 and "embed_tokens" not in name)


def matmul_peak(device: str) -> float:
    """FLOP/s of a large matmul on this device, in the dtype training computes in (fp32 CPU, bf16 GPU)."""
    import torch

    n, dtype = (2048, torch.float32) if device == "cpu" else (8192, torch.bfloat16)
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for _ in range(3):
        a @ b
    sync()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < 2.0:
        a @ b
        count += 1
    sync()
    return 2 * n**3 * count / (time.perf_counter() - start)


def run_ours(args) -> dict:
    from services.trainer.artifacts import ArtifactOptions
    from services.trainer.recipe import Recipe, RunPaths, TrainingData

    model_dir, rows = setup(args)
    marks: dict[str, float] = {}
    steps: list[dict] = []

    def sink(event: dict) -> None:
        if event["type"] == "state" and event["state"] == "running":
            marks["start"], marks["cpu_start"] = time.perf_counter(), time.process_time()
        elif event["type"] == "step":
            marks["end"], marks["cpu_end"] = time.perf_counter(), time.process_time()
            steps.append(event)

    with tempfile.TemporaryDirectory() as run_dir:
        recipe = Recipe(training_config(args), RunPaths(Path(run_dir), model_dir), TrainingData(rows), sink,
                        artifacts=ArtifactOptions(eval_rows=0, sample_generations=0), device=args.device)
        recipe.setup()
        recipe.train()
        recipe.cleanup()
    return {"tokens": steps[-1]["tokens"], "seconds": marks["end"] - marks["start"],
            "cpu_seconds": marks["cpu_end"] - marks["cpu_start"], "steps": len(steps),
            "final_loss": steps[-1]["train_loss"], "peak_rss_mib": peak_rss_mib(),
            "peak_gpu_mib": peak_gpu_mib()}


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


def run_hf(args) -> dict:
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainerCallback, TrainingArguments

    model_dir, rows = setup(args)
    model, tokenizer, dataset = hf_model_and_dataset(args, model_dir, rows)
    marks: dict[str, float] = {}
    losses: list[float] = []

    class Clock(TrainerCallback):
        def on_train_begin(self, *a, **k):
            marks["start"], marks["cpu_start"] = time.perf_counter(), time.process_time()

        def on_step_end(self, *a, **k):
            marks["end"], marks["cpu_end"] = time.perf_counter(), time.process_time()

        def on_log(self, _args, _state, _control, logs=None, **k):
            if logs and "loss" in logs:
                losses.append(logs["loss"])

    with tempfile.TemporaryDirectory() as out:
        training_args = TrainingArguments(
            output_dir=out, per_device_train_batch_size=args.batch_size, num_train_epochs=1, learning_rate=2e-4,
            weight_decay=0.01, max_grad_norm=1.0, lr_scheduler_type="linear", warmup_steps=0, seed=args.seed,
            logging_steps=1, save_strategy="no", eval_strategy="no", report_to=[], use_cpu=args.device == "cpu",
            bf16=args.device == "cuda",  # as our trainer: bf16 autocast on a GPU, fp32 on the CPU
            dataloader_num_workers=0, disable_tqdm=True,
        )
        collator = DataCollatorForSeq2Seq(tokenizer, padding="longest", label_pad_token_id=-100)
        trainer = Trainer(model=model, args=training_args, train_dataset=dataset, data_collator=collator,
                          callbacks=[Clock()])
        result = trainer.train()
    tokens = sum(len(example["input_ids"]) for example in dataset)
    return {"tokens": tokens, "seconds": marks["end"] - marks["start"],
            "cpu_seconds": marks["cpu_end"] - marks["cpu_start"], "steps": result.global_step,
            "final_loss": losses[-1] if losses else None, "peak_rss_mib": peak_rss_mib(),
            "peak_gpu_mib": peak_gpu_mib()}


def compare_initial_losses(args, count: int = 6) -> float:
    """Per-example mean token losses: our packed row vs Trainer's padded batch (LoRA B made non-zero)."""
    import torch
    import torch.nn.functional as F

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

    from transformers import DataCollatorForSeq2Seq

    batch = DataCollatorForSeq2Seq(tokenizer, padding="longest", label_pad_token_id=-100)(dataset)
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    labels = batch["labels"][:, 1:]
    token_losses = F.cross_entropy(logits[:, :-1].transpose(1, 2).float(), labels, reduction="none",
                                   ignore_index=-100)
    theirs = (token_losses.sum(1) / (labels != -100).sum(1)).double()
    print("initial per-example loss (ours packed | HF padded):")
    for a, b in zip(ours.tolist(), theirs.tolist()):
        print(f"  {a:.6f} | {b:.6f}")
    return float((ours - theirs).abs().max())


def child(kind: str, args) -> dict:
    from services.trainer.worker import WORKER_ENV

    command = [sys.executable, __file__, "--child", kind, *forwarded(args)]
    # The same OpenMP settings for both trainers: the ones our worker runs with (see WORKER_ENV).
    env = {**os.environ, **WORKER_ENV}
    proc = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} trial failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def gpu_memory(mib: float) -> str:
    return f", peak GPU memory {mib:.0f} MiB" if mib else ""


def forwarded(args) -> list[str]:
    return ["--examples", str(args.examples), "--batch-size", str(args.batch_size), "--max-seq-length",
            str(args.max_seq_length), "--min-length", str(args.min_length), "--max-length", str(args.max_length),
            "--seed", str(args.seed), "--data-dir", args.data_dir, "--threads", str(args.threads),
            "--device", args.device, "--model", args.model]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-seq-length", type=int, default=1024)
    parser.add_argument("--min-length", type=int, default=20)
    parser.add_argument("--max-length", type=int, default=400)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: the cores available)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="cuda: bf16 autocast for both trainers")
    parser.add_argument("--model", choices=MODELS, default="tiny", help="0.5b: a ~0.5B Llama built from a config (for a GPU)")
    parser.add_argument("--child", choices=["ours", "hf"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        import warnings

        warnings.filterwarnings("ignore")
        result = run_ours(args) if args.child == "ours" else run_hf(args)
        print(json.dumps(result))
        return 0

    with tempfile.TemporaryDirectory() as data_dir:
        args.data_dir = args.data_dir or data_dir
        load = os.getloadavg()[0]
        print(f"{cores()} cores, load average {load:.2f}; {args.examples} examples, batch {args.batch_size}, "
              f"lengths {args.min_length}-{args.max_length} bytes per field, {args.rounds} rounds")
        diff = compare_initial_losses(args)
        print(f"max |difference| of initial per-example losses: {diff:.2e} ({'match' if diff < 1e-4 else 'MISMATCH'})")
        n_matmul, peak = matmul_parameters(model_path(args)), matmul_peak(args.device)
        results: dict[str, list[dict]] = {"ours": [], "hf": []}
        for round_index in range(args.rounds):
            order = ("ours", "hf") if round_index % 2 == 0 else ("hf", "ours")
            for kind in order:
                r = child(kind, args)
                results[kind].append(r)
                print(f"round {round_index + 1} {kind:>4}: {r['tokens'] / r['seconds']:7.0f} tokens/s, "
                      f"{r['tokens'] / r['cpu_seconds']:6.0f} per CPU-second ({r['tokens']} tokens, "
                      f"{r['steps']} steps, {r['seconds']:.1f} s, final loss {r['final_loss']:.4f}, "
                      f"peak RSS {r['peak_rss_mib']:.0f} MiB{gpu_memory(r['peak_gpu_mib'])}, load {os.getloadavg()[0]:.1f})", flush=True)
    rate = {k: statistics.median(r["tokens"] / r["seconds"] for r in v) for k, v in results.items()}
    cpu_rate = {k: statistics.median(r["tokens"] / r["cpu_seconds"] for r in v) for k, v in results.items()}
    rss = {k: max(r["peak_rss_mib"] for r in v) for k, v in results.items()}
    gpu = {k: max(r["peak_gpu_mib"] for r in v) for k, v in results.items()}
    per_round = [(o["tokens"] / o["seconds"]) / (h["tokens"] / h["seconds"])
                 for o, h in zip(results["ours"], results["hf"])]
    print(f"ours: {rate['ours']:.0f} tokens/s, {cpu_rate['ours']:.0f} per CPU-second, peak RSS {rss['ours']:.0f} MiB"
          + gpu_memory(gpu["ours"]))
    print(f"HF Trainer + peft: {rate['hf']:.0f} tokens/s, {cpu_rate['hf']:.0f} per CPU-second, "
          f"peak RSS {rss['hf']:.0f} MiB" + gpu_memory(gpu["hf"]))
    # Model FLOPs per token of LoRA training: 2N forward + 2N for the input gradients (frozen weights get none).
    mfu = {k: 4 * n_matmul * v / peak for k, v in rate.items()}
    print(f"model FLOPs utilisation (4 x {n_matmul / 1e6:.1f}M matmul parameters a token, against this device's "
          f"measured {'fp32' if args.device == 'cpu' else 'bf16'} matmul peak of {peak / 1e12:.2f} TFLOP/s): "
          f"ours {100 * mfu['ours']:.1f}%, HF Trainer {100 * mfu['hf']:.1f}%")
    print(f"ratio (median tokens/s): {rate['ours'] / rate['hf']:.2f}x; paired rounds: "
          f"{', '.join(f'{x:.2f}' for x in per_round)} (median {statistics.median(per_round):.2f}x); "
          f"per CPU-second: {cpu_rate['ours'] / cpu_rate['hf']:.2f}x; target >= {TARGET_RATIO}x. "
          f"Shared machine: load average {os.getloadavg()[0]:.2f} at the end.")
    return 0 if diff < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
