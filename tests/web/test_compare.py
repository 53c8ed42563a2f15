"""Compare: two finished jobs picked from the list, their training and validation curves overlaid (every point
of each drawn), the guide's metrics table with the best value marked, and the configuration diff."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.web.conftest import assert_accessible
from tests.web.helpers import client, finished_jobs, run_metrics


def test_compare_two_finished_jobs(page, suite, shots):
    a, b = finished_jobs(suite)
    ids = [a["job_uid"], b["job_uid"]]
    with client(suite) as c:
        answer = c.post("/v1/jobs:compare", json={"job_ids": ids}).json()

    page.goto("/compare")
    expect(page.get_by_role("heading", name="Compare jobs")).to_be_visible()
    expect(page.get_by_text("No jobs picked")).to_be_visible()
    page.get_by_label("Filter jobs").fill("Finished lr")
    page.get_by_label("State").select_option(label="Completed")
    shots(page, "picker")
    for job in (a, b):
        page.get_by_label(f"Compare {job['display_name']}").check()
    expect(page).to_have_url(re.compile(r"/compare\?jobs=" + re.escape(ids[0]) + "(%2C|,)" + re.escape(ids[1]) + "$"))

    # Both curves, each with every step and every evaluation of its run.
    counts = {}
    for job_id in ids:
        metrics = run_metrics(suite, job_id)
        steps, evaluations = counts[job_id] = len(metrics["steps"]["steps"]), len(metrics["evaluations"]["steps"])
        assert steps >= 4 and evaluations >= 2, (steps, evaluations)
        training = page.get_by_role("figure", name="Training loss").locator(f'[data-line="{job_id}"]')
        expect(training).to_have_attribute("data-points", str(steps))
        validation = page.get_by_role("figure", name="Validation loss").locator(f'[data-line="{job_id}"]')
        expect(validation).to_have_attribute("data-points", str(evaluations))
        expect(training.get_by_role("link")).to_have_attribute("href", f"/jobs/{job_id}")

    # The metrics table: the guide's metrics, the best final loss marked in its job's column.
    table = page.get_by_role("table", name="Metrics by job")
    for label in ("Final training loss", "Training time", "GPU hours", "Best validation loss", "Tokens per second"):
        expect(table.get_by_role("rowheader", name=re.compile(label))).to_be_visible()
    best = next(w for w in answer["best"] if w["metric"] == "final_loss")
    column = ids.index(best["job"].split("/")[-1])
    cells = table.locator('tr[data-metric="final_loss"] td')
    expect(cells.nth(column)).to_have_attribute("data-best", "true")
    expect(cells.nth(column)).to_contain_text(f"{best['value']:.4g}")
    expect(cells.nth(1 - column)).not_to_have_attribute("data-best", "true")
    expect(table.locator('tr[data-metric="gpu_hours"] td[data-best]')).to_have_count(0)  # both 0 on the CPU: no winner
    expect(table.get_by_role("link", name=a["display_name"])).to_have_attribute("href", f"/jobs/{ids[0]}")

    # The configuration diff: only what differs, then everything.
    diff = page.get_by_role("table", name="Configuration by job")
    switch = page.get_by_role("switch", name="Differences only")
    expect(switch).to_be_checked()
    expect(diff.locator('tr[data-parameter="learning_rate"] td')).to_have_text(["0.001", "0.003"])
    expect(diff.locator('tr[data-parameter="batch_size"]')).to_have_count(0)
    expect(diff.locator("tbody tr:not([data-differs])")).to_have_count(0)
    shots(page, "compared")
    assert_accessible(page)
    switch.uncheck()
    expect(diff.locator('tr[data-parameter="batch_size"] td')).to_have_text(["4", "4"])
    expect(diff.locator('tr[data-parameter="model"] td')).to_have_text(["finetune-builtin/tiny-llama-3m"] * 2)
    shots(page, "all-parameters")

    # Log scale and smoothing keep every point; one job left: curves, and a word instead of the table.
    page.get_by_label("Log scale").check()
    page.get_by_label(re.compile("Smoothing")).fill("0.6")
    expect(page.get_by_role("figure", name="Training loss").locator(f'[data-line="{ids[1]}"]')).to_have_attribute("data-points", str(counts[ids[1]][0]))
    page.get_by_label(f"Compare {a['display_name']}").uncheck()
    expect(page).to_have_url(re.compile(r"/compare\?jobs=" + re.escape(ids[1]) + "$"))
    expect(page.get_by_text("Pick one more job to compare metrics and configurations.")).to_be_visible()
    expect(page.get_by_role("figure", name="Training loss").locator("[data-line]")).to_have_count(1)


def test_a_job_that_does_not_exist_is_named_in_the_error(page, suite, shots):
    a, _ = finished_jobs(suite)
    page.goto(f"/compare?jobs={a['job_uid']},job_missing_0")
    alert = page.get_by_role("alert").filter(has_text="Could not compare these jobs")
    expect(alert).to_contain_text("job_missing_0")
    expect(page.get_by_role("figure", name="Training loss").locator('[data-line="job_missing_0"]')).to_contain_text("no run yet")
    shots(page, "missing-job")
    assert_accessible(page)
