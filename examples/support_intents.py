"""The offline demo's dataset: ten customer-support intents, each with one short canned answer.

The rule a model must learn: whatever the greeting or the closing, a question about an intent gets that
intent's answer. Each question is a greeting, one of the intent's three phrasings and a closing.
`support_intents.csv` (the training file) starts with every intent's first phrasing alone, then more
combinations; `support_intents_heldout.csv` holds combinations that are not in the training file (the
same rule, never trained on). `python examples/support_intents.py` writes both files; a test checks that
the committed files are what this script writes.
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRAIN_FILE = HERE / "support_intents.csv"
HELDOUT_FILE = HERE / "support_intents_heldout.csv"

INTENTS = (
    ("Click Forgot password on the sign-in page.",
     ("How do I reset my password?", "I forgot my password.", "Can you help me change my password?")),
    ("Track it under Account > Orders.",
     ("Where is my order?", "How can I track my package?", "My order has not arrived yet.")),
    ("Refunds take 5 to 10 business days.",
     ("When will I get my refund?", "How long does a refund take?", "I am still waiting for my money back.")),
    ("Returns are free within 30 days.",
     ("Can I return an item?", "What is your return policy?", "I want to send something back.")),
    ("Cancel it under Account > Orders before it ships.",
     ("How do I cancel my order?", "I want to cancel my purchase.", "Can I stop an order I just placed?")),
    ("Shipping takes 3 to 5 business days.",
     ("How long does shipping take?", "When will my package arrive?", "How fast is delivery?")),
    ("We ship to 40 countries.",
     ("Do you ship abroad?", "Can you deliver to another country?", "Do you offer international shipping?")),
    ("We accept cards and PayPal.",
     ("Which payment methods do you accept?", "Can I pay with PayPal?", "How can I pay for my order?")),
    ("Delete it under Settings > Account.",
     ("How do I delete my account?", "I want to close my account.", "Please remove my account.")),
    ("Chat with us at help.example.com.",
     ("Can I talk to a person?", "How do I reach customer service?", "I need to speak to an agent.")),
)
GREETINGS = ("", "Hi! ", "Hello. ", "Hey there! ", "Good morning. ")
CLOSINGS = ("", " Thanks.", " Thank you!", " Please help.")
TRAIN_PER_INTENT = 8
HELDOUT_PER_INTENT = 2
SEED = 7


def build(seed: int = SEED) -> tuple[list[dict], list[dict]]:
    """(training rows, held-out rows) of {"input", "output"}; the same for the same seed."""
    rng = random.Random(seed)
    first, more, heldout = [], [], []
    for answer, phrasings in INTENTS:
        plain = [("", p, "") for p in phrasings]
        others = [(g, p, c) for p in phrasings for g in GREETINGS for c in CLOSINGS if (g, c) != ("", "")]
        rng.shuffle(others)
        trained = plain + others[: TRAIN_PER_INTENT - len(plain)]
        held = others[TRAIN_PER_INTENT - len(plain):][:HELDOUT_PER_INTENT]
        rows = [{"input": "".join(parts), "output": answer} for parts in trained]
        first.append(rows[0])
        more.extend(rows[1:])
        heldout.extend({"input": "".join(parts), "output": answer} for parts in held)
    rng.shuffle(more)
    return first + more, heldout


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["input", "output"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def main() -> None:
    train, heldout = build()
    TRAIN_FILE.write_text(to_csv(train))
    HELDOUT_FILE.write_text(to_csv(heldout))
    print(f"wrote {len(train)} rows to {TRAIN_FILE.name} and {len(heldout)} to {HELDOUT_FILE.name}")


if __name__ == "__main__":
    main()
