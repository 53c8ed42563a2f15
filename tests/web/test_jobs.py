"""The Jobs stage in the browser: create a job from the form, watch it live, lose no point to a reload or a
gateway restart, pause and resume, cancel, and find the final metrics, samples, artifacts and snippet."""

from __future__ import annotations

import os
import re
import signal

import psutil
import pytest
from playwright.sync_api import expect

from tests.web.conftest import assert_accessible
from tests.web.helpers import create_job, run_metrics, upload_dataset, wait_for_job

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dataset(suite):
    return upload_dataset(suite, "Support for jobs", tags="jobs")


def loss_chart(page):
    return page.get_by_role("figure", name="Loss")


def assert_every_step_once(page, suite, job_id: str) -> None:
    """The loss chart holds each of the run's steps once: as many points as steps, ending at the last one."""
    metrics = run_metrics(suite, job_id)
    steps = metrics["steps"]["steps"]
    assert steps == list(range(1, len(steps) + 1))
    expect(loss_chart(page)).to_have_attribute("data-points", str(len(steps)))
    expect(loss_chart(page)).to_have_attribute("data-last-step", str(steps[-1]))


def gateway_process(suite) -> psutil.Process:
    for child in psutil.Process(suite.proc.pid).children(recursive=True):
        if "gateway.server" in " ".join(child.cmdline()):
            return child
    raise AssertionError("no gateway process under the launcher")


def test_create_a_job_from_the_form_and_watch_it_complete(page, suite, dataset, shots):
    page.goto("/jobs/new")
    page.get_by_label("Dataset").select_option(dataset["uid"])
    page.get_by_label("Job name").fill("Form job")
    page.get_by_label("Tags").fill("web, form")
    page.get_by_label("Model name").fill("form-job-model")
    expect(page.get_by_role("table", name="Hyperparameters")).to_contain_text("learning_rate")
    shots(page, "create")
    assert_accessible(page)
    page.get_by_role("button", name="Create job").click()

    expect(page).to_have_url(re.compile(r"/jobs/job_\w+$"))
    job_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", name="Form job")).to_be_visible()
    expect(page.get_by_text("Completed", exact=True).first).to_be_visible(timeout=240_000)
    expect(page.get_by_role("table", name="Sample generations")).to_be_visible()
    expect(page.get_by_role("list", name="Artifact files")).to_contain_text("adapter/adapter_config.json")
    expect(page.get_by_label("Inference code")).to_contain_text(f"/{job_id}/artifacts/model")
    expect(page.get_by_text("Stream ended: the run is final")).to_be_visible()
    assert_every_step_once(page, suite, job_id)
    shots(page, "completed")
    assert_accessible(page)


def test_a_reload_and_a_gateway_restart_mid_run_lose_no_point_and_draw_none_twice(page, suite, dataset, shots):
    job = create_job(suite, dataset["uid"], "Live job", epochs=1000, max_steps=150, scheduler="constant", save_steps=0)
    page.goto(f"/jobs/{job['jobUid']}")
    expect(page.locator("[data-stream-status=live]")).to_be_visible()
    expect(loss_chart(page)).not_to_have_attribute("data-points", "0")
    shots(page, "live")
    page.reload()
    expect(page.locator("[data-stream-status=live]")).to_be_visible()

    page.allow_console.append("ERR_CONNECTION_REFUSED")  # the page's own calls while the gateway is down
    os.kill(gateway_process(suite).pid, signal.SIGKILL)  # the launcher starts it again
    expect(page.locator("[data-stream-status=reconnecting]")).to_be_visible()
    shots(page, "reconnecting")
    expect(page.locator("[data-stream-status=live]")).to_be_visible(timeout=60_000)

    wait_for_job(suite, job["jobUid"], ("JOB_STATE_COMPLETED",))
    expect(page.locator("[data-stream-status=ended]")).to_be_visible(timeout=30_000)
    assert_every_step_once(page, suite, job["jobUid"])


def test_pause_resume_and_cancel_are_enabled_by_state(page, suite, dataset, shots):
    page.on("dialog", lambda dialog: dialog.accept())
    job = create_job(suite, dataset["uid"], "Controlled job", epochs=1000, max_steps=5000, scheduler="constant", save_steps=0)
    page.goto(f"/jobs/{job['jobUid']}")
    controls = page.get_by_role("toolbar", name="Job controls")
    pause, resume = controls.get_by_role("button", name="Pause"), controls.get_by_role("button", name="Resume")
    expect(pause).to_be_enabled(timeout=60_000)
    expect(resume).to_be_disabled()
    pause.click()
    expect(page.get_by_text("Paused", exact=True).first).to_be_visible()
    expect(resume).to_be_enabled()
    expect(pause).to_be_disabled()
    shots(page, "paused")
    resume.click()
    expect(pause).to_be_enabled()

    page.get_by_label("New learning rate").fill("0.0005")
    page.get_by_role("button", name="Set learning rate").click()
    expect(page.get_by_text("Learning rate changed.")).to_be_visible()
    page.get_by_label("New learning rate").fill("0")  # the form allows it; the trainer wants (0, 1]
    page.get_by_role("button", name="Set learning rate").click()
    expect(page.get_by_role("alert").filter(has_text="learning")).to_be_visible()  # the trainer's message, shown

    # Where a step's time goes: the next steps profiled, shown in the diagnosis.
    controls.get_by_role("button", name="Diagnose").click()
    page.get_by_role("button", name="Profile 5 steps").click()
    phases = page.get_by_role("table", name="Time by phase")
    expect(phases).to_be_visible(timeout=60_000)
    for phase in ("data", "forward", "backward", "optimizer", "logging", "other"):
        expect(phases).to_contain_text(phase)
    page.get_by_role("region", name="Step profile").scroll_into_view_if_needed()
    shots(page, "profile")

    controls.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("Cancelled", exact=True).first).to_be_visible()
    expect(controls.get_by_role("button", name="Cancel")).to_be_disabled()
    expect(page.get_by_role("list", name="State changes")).to_contain_text("Paused")
    shots(page, "cancelled")


def test_an_unknown_job_says_so(page):
    page.goto("/jobs/job_does_not_exist")
    expect(page.get_by_role("alert")).to_contain_text("Could not load job job_does_not_exist")
