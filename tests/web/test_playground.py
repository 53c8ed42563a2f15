"""Playground: a finished job's model streams its answer into the page (the same text as the API's greedy
answer), two models answer the same prompt side by side, a refused request is shown at its field, and Stop
ends a long generation."""

from __future__ import annotations

import json
import time

from playwright.sync_api import expect

from tests.web.conftest import assert_accessible
from tests.web.helpers import client, finished_jobs, upload_dataset

PROMPT = "How do I reset my password?"
GENERATED_MS = 60_000  # loading a model for its first answer takes seconds on a busy CPU


def greedy_answer(suite, job_id: str, max_new_tokens: int) -> tuple[str, int]:
    """The API's answer at temperature 0 (the same every time): its text and how many pieces carried text."""
    with client(suite) as c:
        r = c.post(f"/v1/runs/{job_id}:generate", json={"prompt": PROMPT, "max_new_tokens": max_new_tokens, "temperature": 0})
        assert r.status_code == 200, r.text
    pieces = [json.loads(line) for line in r.text.splitlines() if line.strip()]
    texts = [p["text"] for p in pieces if p.get("text")]
    return "".join(texts), len(texts)


def output(page, slot: str):
    return page.get_by_role("region", name=f"Answer {slot} text")


def test_generate_from_a_finished_job_then_two_side_by_side(page, suite, shots):
    a, b = finished_jobs(suite)
    page.goto(f"/playground?job={a['job_uid']}")
    expect(page.get_by_role("heading", name="Playground")).to_be_visible()
    expect(page.get_by_label("Model A", exact=True)).to_have_value(a["job_uid"])
    expect(output(page, "A")).to_have_attribute("data-status", "idle")
    shots(page, "ready")

    # A refused request: the trainer's message at the field it is about.
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("prompt is required")).to_be_visible(timeout=GENERATED_MS)
    expect(page.get_by_label("Prompt", exact=True)).to_have_attribute("aria-invalid", "true")
    shots(page, "prompt-required")

    page.get_by_label("Prompt", exact=True).fill(PROMPT)
    page.get_by_label("Max new tokens").fill("12")
    page.get_by_role("button", name="Generate").click()
    expect(output(page, "A")).to_have_attribute("data-status", "done", timeout=GENERATED_MS)
    text, pieces = greedy_answer(suite, a["job_uid"], 12)
    assert pieces > 0
    expect(output(page, "A")).to_have_attribute("data-pieces", str(pieces))
    assert output(page, "A").locator("[data-output]").text_content() == text
    expect(page.get_by_label("Prompt", exact=True)).not_to_have_attribute("aria-invalid", "true")
    shots(page, "one-model")
    assert_accessible(page)

    # A/B: the second model answers the same prompt at the same time.
    page.get_by_label("Model B (side by side)").select_option(b["job_uid"])
    expect(page).to_have_url(f"{suite.url}/playground?job={a['job_uid']}&b={b['job_uid']}")
    page.get_by_role("button", name="Generate").click()
    for slot, job in (("A", a), ("B", b)):
        expect(output(page, slot)).to_have_attribute("data-status", "done", timeout=GENERATED_MS)
        text, pieces = greedy_answer(suite, job["job_uid"], 12)
        expect(output(page, slot)).to_have_attribute("data-pieces", str(pieces))
        assert output(page, slot).locator("[data-output]").text_content() == text
    expect(page.get_by_role("link", name=b["display_name"])).to_have_attribute("href", f"/jobs/{b['job_uid']}")
    shots(page, "side-by-side")
    assert_accessible(page)


def test_stop_ends_a_long_generation(page, suite, shots):
    a, _ = finished_jobs(suite)
    page.goto(f"/playground?job={a['job_uid']}")
    page.get_by_label("Prompt", exact=True).fill("Tell me everything about refunds.")
    page.get_by_label("Max new tokens").fill("4096")
    page.get_by_label("Temperature").fill("1")
    page.get_by_role("button", name="Generate").click()
    expect(output(page, "A")).to_have_attribute("data-status", "streaming")
    expect(output(page, "A")).not_to_have_attribute("data-pieces", "0", timeout=GENERATED_MS)
    page.get_by_role("button", name="Stop").click()
    expect(output(page, "A")).to_have_attribute("data-status", "stopped")
    expect(page.get_by_role("button", name="Stop")).to_be_disabled()
    shots(page, "stopped")
    # The trainer is free again: the next answer comes in full.
    page.get_by_label("Max new tokens").fill("4")
    page.get_by_label("Temperature").fill("0")
    page.get_by_role("button", name="Generate").click()
    expect(output(page, "A")).to_have_attribute("data-status", "done", timeout=GENERATED_MS)



def test_an_ensemble_answers_by_majority_vote(page, suite, shots):
    dataset = upload_dataset(suite, "Ensemble dataset", validation_fraction="0.25")
    configuration = {"model": {"uid": "finetune-builtin/tiny-llama-3m"}, "dataset": {"uid": dataset["uid"]},
                     "hyperparameters": {"learning_rate": 0.002, "batch_size": 4, "max_steps": 4, "max_seq_length": 96}}
    with client(suite) as c:
        made = c.post("/v1/ensembles", json={"display_name": "Two seeds", "size": 2, "configuration": configuration})
        assert made.status_code == 200, made.text
        name = made.json()["name"]
        deadline = time.monotonic() + 300
        while c.get(f"/v1/{name}").json()["state"] == "running":
            assert time.monotonic() < deadline
            time.sleep(1)
        want = c.post(f"/v1/{name}:generate", json={"prompt": PROMPT, "max_new_tokens": 12}).json()
    page.goto(f"/playground?job={name}")
    expect(page.get_by_label("Model A", exact=True)).to_have_value(name)
    page.get_by_label("Prompt", exact=True).fill(PROMPT)
    page.get_by_label("Max new tokens").fill("12")
    page.get_by_role("button", name="Generate").click()
    expect(output(page, "A")).to_have_attribute("data-status", "done", timeout=GENERATED_MS)
    expect(output(page, "A").locator("[data-output]")).to_have_text(want["text"])
    vote = page.get_by_label("Answer A vote")
    expect(vote).to_contain_text(f"{want['votes']} of 2 members gave this answer")
    shots(page, "ensemble")
    assert_accessible(page)

    # The Sweeps page lists it with its members, and evaluates it on the validation split.
    page.goto("/sweeps")
    members = page.get_by_role("table", name="Members of Two seeds")
    expect(members.locator("tbody tr")).to_have_count(2)
    expect(members).to_contain_text("42")
    page.get_by_role("button", name="Evaluate").first.click()
    expect(page.get_by_role("status").filter(has_text="The ensemble answers")).to_be_visible(timeout=GENERATED_MS)
    expect(members).to_contain_text("%")
    shots(page, "ensemble-evaluated")
    assert_accessible(page)
