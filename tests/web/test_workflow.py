"""The guide's whole workflow, as one person does it in the browser: upload a CSV with errors, see them by row,
repair and save; pick the built-in model; configure with a warning shown; create the job; watch the live
chart; reload mid-run and find every step exactly once; pause and resume; completion; generate in the
playground; compare two jobs. A screenshot at each stage."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.web.conftest import assert_accessible
from tests.web.helpers import create_job, run_metrics, wait_for_job
from tests.web.test_datasets import EMPTY_ROW, MISSING_OUTPUT, broken_csv, drop_file

pytestmark = pytest.mark.slow
TINY_NAME = "Tiny Llama 3M (built-in)"


def test_the_guides_workflow_end_to_end(page, suite, shots):
    # Stage 1: the dataset, with its errors shown by row, repaired and saved.
    page.goto("/datasets/new")
    drop_file(page, page.get_by_test_id("dropzone"), "support.csv", broken_csv()[0])
    error = page.get_by_role("list", name="Validation results").get_by_role("listitem").filter(has_text="EMPTY_ROWS")
    expect(error).to_contain_text(f"Rows {EMPTY_ROW}, {MISSING_OUTPUT}")
    shots(page, "1-dataset-errors")
    page.get_by_role("button", name="Repair automatically").click()
    expect(page.get_by_text("No errors: the file can be saved")).to_be_visible()
    page.get_by_label("Name").fill("Workflow support")
    page.get_by_label("Validation split (fraction of rows)").fill("0.2")
    page.get_by_role("button", name="Save dataset").click()
    expect(page).to_have_url(re.compile(r"/datasets/dataset_\w+$"))
    dataset_uid = page.url.rsplit("/", 1)[1]
    page.get_by_role("button", name="Use this dataset").click()

    # Stage 2: the built-in model, found by search (the hub is offline here) and used.
    expect(page).to_have_url(re.compile(r"/models$"))
    page.get_by_label("Search models").fill("tiny")
    tiny = page.get_by_role("list", name="Search results").get_by_role("listitem", name=TINY_NAME)
    shots(page, "2-model")
    tiny.get_by_role("button", name=f"Use this model: {TINY_NAME}").click()

    # Stage 3: the configuration, with the guide's warning next to its field, then fixed.
    expect(page).to_have_url(re.compile(r"/configure$"))
    lr = page.get_by_label("Learning rate", exact=True)
    lr.fill("0.01")
    expect(lr).to_have_accessible_description(re.compile(r"above the guide's"))
    shots(page, "3-configure-warning")
    page.get_by_role("button", name="Use 0.0005").click()
    page.get_by_label("Batch size", exact=True).fill("4")
    page.get_by_label("Epochs", exact=True).fill("10")  # 24 training rows, batch 4: 6 steps an epoch
    page.get_by_label("Max steps").fill("40")
    page.get_by_label("Max sequence length", exact=True).fill("96")
    expect(page.get_by_test_id("check-status")).to_contain_text(re.compile("Every value is possible|warning"))
    page.get_by_role("button", name="Continue to Create job").click()

    # Stage 4: the job, reviewed and created.
    expect(page).to_have_url(re.compile(r"/jobs/new$"))
    expect(page.get_by_label("Dataset")).to_have_value(dataset_uid)
    page.get_by_label("Job name").fill("Workflow job")
    expect(page.get_by_role("table", name="Hyperparameters")).to_contain_text("0.0005")
    shots(page, "4-create-job")
    page.get_by_role("button", name="Create job").click()
    expect(page).to_have_url(re.compile(r"/jobs/job_\w+$"))
    job_id = page.url.rsplit("/", 1)[1]

    # Stage 5: live; a reload mid-run; pause and resume.
    loss = page.get_by_role("figure", name="Loss")
    expect(loss).not_to_have_attribute("data-points", "0", timeout=120_000)
    page.reload()
    expect(page.locator("[data-stream-status=live]")).to_be_visible()
    controls = page.get_by_role("toolbar", name="Job controls")
    if wait_state(page) == "running":  # a short run may finish before it can be paused: then there is nothing to pause
        controls.get_by_role("button", name="Pause").click()
        expect(controls.get_by_role("button", name="Resume")).to_be_enabled()
        shots(page, "5-paused")
        controls.get_by_role("button", name="Resume").click()
    wait_for_job(suite, job_id, ("JOB_STATE_COMPLETED",))
    expect(page.locator("[data-stream-status=ended]")).to_be_visible(timeout=30_000)
    steps = run_metrics(suite, job_id)["steps"]["steps"]
    assert steps == list(range(1, 41))
    expect(loss).to_have_attribute("data-points", "40")  # every step once, across the reload and the pause
    expect(page.get_by_role("table", name="Sample generations")).to_be_visible()
    shots(page, "6-completed")
    assert_accessible(page)

    # Stage 6: the model answers in the playground.
    page.goto(f"/playground?job={job_id}")
    page.get_by_label("Prompt", exact=True).fill("How do I reset my password?")
    page.get_by_label("Max new tokens").fill("8")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_role("region", name="Answer A text")).to_have_attribute("data-status", "done", timeout=60_000)
    shots(page, "7-playground")

    # Experiment tracking: this job against a second one, overlaid.
    other = create_job(suite, dataset_uid, "Workflow job, higher rate", learning_rate=0.002, epochs=10, max_steps=20)
    wait_for_job(suite, other["jobUid"], ("JOB_STATE_COMPLETED",))
    page.goto(f"/compare?jobs={job_id},{other['jobUid']}")
    for jid, n in ((job_id, 40), (other["jobUid"], 20)):
        expect(page.get_by_role("figure", name="Training loss").locator(f'[data-line="{jid}"]')).to_have_attribute("data-points", str(n))
    expect(page.get_by_role("table", name="Configuration by job").locator('tr[data-parameter="learning_rate"] td')).to_have_text(
        ["0.0005", "0.002"])
    shots(page, "8-compare")


def wait_state(page) -> str:
    """"running" once the run takes commands (Pause enabled), or "completed" if it finished first."""
    page.wait_for_function("""() => document.querySelector('[data-stream-status=ended]') ||
        [...document.querySelectorAll('[role=toolbar] button')].some(b => b.textContent.trim() === 'Pause' && !b.disabled)""",
                           timeout=60_000)
    return "completed" if page.locator("[data-stream-status=ended]").count() else "running"
