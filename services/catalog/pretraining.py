"""One-time pretraining of a built-in model on a small generated corpus, so that LoRA has something to adapt.

The corpus is a seeded stream of short instructions with their answers, in the trainer's prompt template
(`services.trainer.prompting`): copy or transform a phrase, look a fact up in the input, add small
numbers, answer a question about a generated sentence. It teaches the byte-level spelling of common
English words, the template, answering from the input and stopping with EOS; it holds no row of any
dataset shipped here (`examples/`). Training is full-parameter AdamW on every token after BOS (prompt and
answer: a language model learns from the whole text), packed as the trainer packs (one row, examples
never attending to each other), on one CPU thread: the same seed gives the same weights, bit for bit,
on a given machine and torch build.

`python -m services.catalog.pretraining --model ID --out DIR [--plan JSON]` builds one model into DIR (what
`builtin_models.ensure_builtin_model` runs, in a child process, the first time a pretrained model is needed)
and prints its statistics as JSON; the progress bar goes to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

# Bump when the generator below changes: it is part of a pretrained model's cache key.
CORPUS_VERSION = 1

NOUNS = ("account order package parcel password email phone card payment refund invoice receipt address "
         "delivery store shop item box gift coupon code price plan team friend city garden kitchen window door "
         "table chair book letter message ticket app website page screen button link bank bill car train bus "
         "river mountain house school office market doctor teacher child dog cat bird tree flower apple bread "
         "coffee water tea cake shirt shoe bag key map clock song film game photo report meeting week month").split()
ADJECTIVES = ("new old small large quick slow bright dark quiet busy happy tired early late free cheap warm cold "
              "clean empty full open closed safe simple short long green blue red yellow white black brown").split()
VERBS = ("opens closes sends finds keeps takes brings checks moves sells buys reads writes starts stops pays "
         "carries cleans fixes needs wants likes sees helps calls visits").split()
PLACES = "kitchen garden office station market library harbour village park hall basement attic".split()
COLORS = "red blue green yellow white black brown orange purple grey pink".split()
NAMES = ("Anna Ben Carla David Emma Felix Grace Hugo Ivy Jack Kara Leo Maya Noah Olga Paul Rosa Sam Tara "
         "Victor Wendy Yusuf Zoe").split()
DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
NUMBER_WORDS = "zero one two three four five six seven eight nine ten eleven twelve".split()


def _phrase(rng: random.Random) -> str:
    """A short generated sentence: name or noun phrase, verb, noun phrase, sometimes a place or a day."""
    def noun_phrase() -> str:
        words = [rng.choice(("the", "a", "my", "your", "this"))]
        if rng.random() < 0.5:
            words.append(rng.choice(ADJECTIVES))
        words.append(rng.choice(NOUNS))
        return " ".join(words)

    subject = rng.choice(NAMES) if rng.random() < 0.5 else noun_phrase().capitalize()
    sentence = f"{subject} {rng.choice(VERBS)} {noun_phrase()}"
    if rng.random() < 0.4:
        sentence += f" in the {rng.choice(PLACES)}"
    if rng.random() < 0.3:
        sentence += f" on {rng.choice(DAYS)}"
    return sentence


def _example(rng: random.Random) -> dict:
    """One instruction and its answer; each kind asks for something the input alone determines."""
    kind = rng.randrange(9)
    if kind == 0:
        text = _phrase(rng)
        return {"input": f"Repeat after me: {text}.", "output": f"{text}."}
    if kind == 1:
        text = _phrase(rng)
        return {"input": f"Say it in capitals: {text}.", "output": f"{text.upper()}."}
    if kind == 2:
        noun, color = rng.choice(NOUNS), rng.choice(COLORS)
        other, other_color = rng.choice(NOUNS), rng.choice(COLORS)
        facts = [f"The {noun} is {color}.", f"The {other} is {other_color}."]
        rng.shuffle(facts)
        return {"input": f"{' '.join(facts)} What color is the {noun}?", "output": f"The {noun} is {color}."}
    if kind == 3:
        a, b = rng.randrange(0, 50), rng.randrange(0, 50)
        return {"input": f"What is {a} plus {b}?", "output": f"{a} plus {b} is {a + b}."}
    if kind == 4:
        name, place, day = rng.choice(NAMES), rng.choice(PLACES), rng.choice(DAYS)
        return {"input": f"{name} will be in the {place} on {day}. Where will {name} be?",
                "output": f"{name} will be in the {place}."}
    if kind == 5:
        name, place, day = rng.choice(NAMES), rng.choice(PLACES), rng.choice(DAYS)
        return {"input": f"{name} will be in the {place} on {day}. When will {name} be there?",
                "output": f"On {day}."}
    if kind == 6:
        words = rng.sample(NOUNS, rng.randint(3, 5))
        which = rng.choice(("first", "last"))
        return {"input": f"Which word comes {which}: {', '.join(words)}?",
                "output": words[0] if which == "first" else words[-1]}
    if kind == 7:
        n = rng.randrange(len(NUMBER_WORDS))
        return {"input": f"Write the number {n} in words.", "output": f"{NUMBER_WORDS[n].capitalize()}."}
    text = _phrase(rng)
    return {"input": f"How many words are in this sentence: {text}.", "output": f"It has {len(text.split())} words."}


def corpus(count: int, seed: int) -> list[dict]:
    """`count` generated {"input", "output"} rows, the same for the same seed."""
    rng = random.Random(seed)
    return [_example(rng) for _ in range(count)]


@dataclass(frozen=True)
class PretrainPlan:
    """How a built-in model is pretrained; all of it (with the model's shape) is the cache key of its weights."""

    steps: int = 240
    batch_size: int = 32
    learning_rate: float = 3e-3
    warmup_steps: int = 12
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    seed: int = 1234
    corpus_version: int = CORPUS_VERSION

    def as_dict(self) -> dict:
        return asdict(self)


def pretrain(model, tokenizer, plan: PretrainPlan, *, label: str = "", progress: bool = True) -> dict:
    """Trains every parameter of `model` in place on `plan.steps` batches of the generated corpus; returns
    the first and final losses and the time taken. Runs torch on one thread (see the module docstring)."""
    import torch

    from services.trainer.data import collate
    from services.trainer.modeling import summed_loss
    from services.trainer.prompting import EncodedExample, encode_example

    rows = corpus(plan.steps * plan.batch_size, plan.seed)
    # num_prompt=1: every token after BOS is a target, the prompt's as well as the answer's.
    examples = [EncodedExample(encode_example(tokenizer, r["input"], r["output"], 256).input_ids, 1) for r in rows]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng():
            torch.manual_seed(plan.seed)
            optimizer = torch.optim.AdamW(model.parameters(), lr=plan.learning_rate, weight_decay=plan.weight_decay,
                                          betas=(0.9, 0.95))
            scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: _lr_factor(plan, step))
            bar = _progress(plan.steps, label) if progress else None
            model.train()
            start, losses = time.perf_counter(), []
            for step in range(plan.steps):
                batch = collate(examples[step * plan.batch_size:(step + 1) * plan.batch_size], packed=True)
                loss = summed_loss(model, batch) / batch.num_targets
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), plan.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                losses.append(loss.item())
                if bar is not None:
                    bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
                    bar.update(1)
            if bar is not None:
                bar.close()
            model.eval()
    finally:
        torch.set_num_threads(threads)
    tail = losses[-20:]
    return {"steps": plan.steps, "first_loss": round(losses[0], 4), "final_loss": round(sum(tail) / len(tail), 4),
            "seconds": round(time.perf_counter() - start, 1)}


def _lr_factor(plan: PretrainPlan, step: int) -> float:
    """Linear warmup, then cosine down to a tenth of the peak."""
    if step < plan.warmup_steps:
        return (step + 1) / plan.warmup_steps
    done = (step - plan.warmup_steps) / max(1, plan.steps - plan.warmup_steps)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * done))


def _progress(total: int, label: str):
    from tqdm.auto import tqdm

    # A log file gets a line every few seconds rather than a redraw every second.
    interval = 1.0 if sys.stderr.isatty() else 5.0
    return tqdm(total=total, desc=f"pretraining {label}".strip(), unit="step", file=sys.stderr, mininterval=interval)


def weights_digest(model_dir: Path) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes in the saved weights, in name order."""
    import torch
    from safetensors.torch import load_file

    tensors = load_file(str(Path(model_dir) / "model.safetensors"))
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}\n".encode())
        digest.update(tensor.view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def build(model_id: str, out: Path, *, plan: PretrainPlan | None = None, progress: bool = True) -> dict:
    """Builds the built-in model `model_id` (seeded), pretrains it with its plan (or `plan`), saves model and
    tokenizer to `out`; returns the statistics with the weights' digest."""
    from services.catalog.builtin_models import BUILTIN_MODELS, build_model, build_tokenizer

    spec = BUILTIN_MODELS[model_id]
    plan = plan or spec.pretrain
    if plan is None:
        raise ValueError(f"{model_id} is not a pretrained built-in model")
    tokenizer = build_tokenizer()
    model = build_model(spec, tokenizer)
    stats = pretrain(model, tokenizer, plan, label=spec.slug, progress=progress)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return {**stats, "plan": plan.as_dict(), "parameters": model.num_parameters(), "weights_sha256": weights_digest(out)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Pretrain one built-in model on the generated corpus.")
    parser.add_argument("--model", required=True, help="a built-in model id (its shape)")
    parser.add_argument("--out", required=True, type=Path, help="the folder to save it in")
    parser.add_argument("--plan", help="the PretrainPlan as JSON (default: the model's own)")
    args = parser.parse_args(argv)
    plan = PretrainPlan(**json.loads(args.plan)) if args.plan else None
    print(json.dumps(build(args.model, args.out, plan=plan)))


if __name__ == "__main__":
    main()
