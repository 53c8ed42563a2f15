"""int8 export against the fp32 model it comes from: folder size, greedy tokens/s (rounds alternated) and the
mean token loss on a validation set, one run.

The model is a built-in one as a merged model would be (`--model`, default the 25M one, where compute rather
than per-token overhead dominates); its int8 folder is made with `services.trainer.quantize.quantize_folder`
(what QuantizeModel and `finetune models export --int8` do) and loaded back with `load_quantized`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from services.catalog.builtin_models import ensure_builtin_model  # noqa: E402
from services.trainer.generation import load_for_generation  # noqa: E402
from services.trainer.quantize import folder_bytes, load_quantized, measure, quantize_folder  # noqa: E402
from tests.web.helpers import support_rows  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="finetune-builtin/small-llama-25m")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        source = ensure_builtin_model(Path(tmp), args.model)
        quantize_folder(source, Path(tmp) / "int8")
        fp32, int8 = load_for_generation(str(source)), load_quantized(Path(tmp) / "int8")
        rows = support_rows(64)
        speeds = {"fp32": [], "int8": []}
        losses = {}
        for _ in range(args.rounds):
            for name, (model, tokenizer) in (("fp32", fp32), ("int8", int8)):
                result = measure(model, tokenizer, rows, 128, new_tokens=48)
                speeds[name].append(result["tokens_per_second"])
                losses[name] = result["validation_loss"]
        fp, q = statistics.median(speeds["fp32"]), statistics.median(speeds["int8"])
        print(f"{args.model}, {args.threads} thread(s):")
        print(f"  size: fp32 {folder_bytes(source) / 1e6:.1f} MB, int8 {folder_bytes(Path(tmp) / 'int8') / 1e6:.1f} MB "
              f"({folder_bytes(Path(tmp) / 'int8') / folder_bytes(source):.2f}x)")
        print(f"  greedy tokens/s: fp32 {fp:.0f}, int8 {q:.0f} ({q / fp:.2f}x); rounds fp32 {[round(s) for s in speeds['fp32']]}, "
              f"int8 {[round(s) for s in speeds['int8']]}")
        print(f"  validation loss (64 rows): fp32 {losses['fp32']:.4f}, int8 {losses['int8']:.4f} "
              f"(difference {losses['int8'] - losses['fp32']:+.4f})")


if __name__ == "__main__":
    main()
