"""The Sweeps stage in the browser: Configure's automated mode starts a grid sweep over two learning rates (each
trial a real job), the sweep's page shows its trials and their losses as they finish, the best trial, and
promotes it to a saved configuration that Create job then uses; the sweep list shows it."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tests.web.conftest import assert_accessible
from tests.web.helpers import client, upload_dataset

TINY = "finetune-builtin/tiny-llama-3m"


def test_a_grid_sweep_from_configure_runs_its_trials_and_promotes_the_best(page, suite, shots):
    dataset = upload_dataset(suite, "Sweep rows", validation_fraction="0.25")
    workflow = {"model": {"uid": TINY, "name": TINY}, "dataset": {"uid": dataset["uid"], "name": "Sweep rows"}}
    page.add_init_script(f"sessionStorage.setItem('finetune.workflow', {json.dumps(json.dumps(workflow))})")
    page.goto("/configure?mode=automated")

    # One range: two learning rates given as values; a grid of 2 points, said next to the trials limit.
    page.get_by_label("Given as").select_option("values")
    rates = page.get_by_label("Learning rate values")
    rates.fill("0.001, abc")
    expect(rates).to_have_accessible_description(re.compile(r'learning_rate a value must be a number, got "abc"'))
    rates.fill("0.001, 0.003")
    expect(rates).to_have_accessible_description(re.compile(r"2 points"))
    expect(page.get_by_label("Max trials")).to_have_accessible_description(re.compile(r"The grid has 2 points"))
    page.get_by_label("Batch size", exact=True).fill("4")
    page.get_by_label("Epochs", exact=True).fill("1")
    page.get_by_label("Max steps").fill("4")
    page.get_by_label("Max sequence length").fill("96")
    page.get_by_label("Max trials").fill("2")
    page.get_by_label("Sweep name").fill("Two rates")
    expect(page.get_by_test_id("check-status")).not_to_contain_text("impossible")
    expect(page.get_by_text(re.compile(r"^epochs 3 is outside"))).to_have_count(0)  # the default's advice is gone
    shots(page, "automated")
    assert_accessible(page)
    page.get_by_role("button", name="Start sweep").click()

    expect(page).to_have_url(re.compile(r"/sweeps/[^/]+$"))
    sweep_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", name="Two rates")).to_be_visible()
    trials = page.get_by_role("table", name="Trials")
    expect(page.get_by_text("2 of 2", exact=True)).to_be_visible(timeout=240_000)  # both trials completed
    expect(trials.locator("tbody tr")).to_have_count(2)
    with client(suite) as c:
        sweep = c.get(f"/v1/sweeps/{sweep_id}").json()
        listed = c.get(f"/v1/sweeps/{sweep_id}/trials").json()["trials"]
    assert sweep["state"] == "SWEEP_STATE_COMPLETED", sweep
    rates_run = sorted(t["parameters"]["learning_rate"] for t in listed)
    assert rates_run == [0.001, 0.003]
    best = sweep["best_trial"]
    expect(page.get_by_text(f"trial #{best['number']}", exact=True)).to_be_visible()
    shots(page, "sweep")
    assert_accessible(page)

    # Promote the best trial: a saved configuration with its learning rate, carried to Create job.
    page.get_by_role("button", name="Promote best trial").click()
    promoted = page.get_by_test_id("promoted-uid")
    expect(promoted).not_to_be_empty()
    with client(suite) as c:
        saved = c.get(f"/v1/configurations/{promoted.inner_text()}").json()
    assert saved["hyperparameters"]["learning_rate"] == best["parameters"]["learning_rate"]
    page.get_by_role("button", name="Create a job with it").click()
    expect(page).to_have_url(re.compile(r"/jobs/new$"))
    carried = json.loads(page.evaluate("sessionStorage.getItem('finetune.workflow')"))
    assert carried["configuration"]["uid"] == saved["uid"] and carried["dataset"]["uid"] == dataset["uid"]

    page.goto("/sweeps")
    row = page.get_by_role("table", name="Sweeps").get_by_role("row").filter(has_text="Two rates")
    expect(row).to_contain_text("Grid")
    expect(row).to_contain_text("2")
    shots(page, "sweeps")
    assert_accessible(page)
