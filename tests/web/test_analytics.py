"""Analytics and health: the job statistics as the API counts them and every service SERVING; the Overview:
the workflow path, recent jobs with state and progress, and the services' health in one line."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.web.conftest import assert_accessible
from tests.web.helpers import client, finished_jobs

SERVICES = ("dataset", "catalog", "jobs", "trainer")


def test_analytics_shows_the_statistics_and_every_service_serving(page, suite, shots):
    finished_jobs(suite)
    with client(suite) as c:
        stats = c.get("/v1/jobs:statistics").json()
    page.goto("/analytics")
    expect(page.get_by_role("heading", name="Analytics and health")).to_be_visible()

    health = page.get_by_role("table", name="Service health")
    for service in SERVICES:
        expect(health.locator(f'tr[data-service="{service}"]')).to_have_attribute("data-status", "SERVING")
    expect(page.get_by_role("alert")).to_have_count(0)

    summary = page.get_by_role("region", name="Summary")
    expect(summary.locator("dt", has_text="Jobs").locator("xpath=following-sibling::dd[1]")).to_have_text(str(stats["total_jobs"]))
    finished = stats["jobs_by_state"].get("JOB_STATE_COMPLETED", 0) + stats["jobs_by_state"].get("JOB_STATE_FAILED", 0)
    expect(summary.locator("dt", has_text="Success rate").locator("xpath=following-sibling::dd[1]")).to_have_text(
        f"{round(100 * stats['success_rate'])}%")
    assert finished >= 2
    models = page.get_by_role("list", name="Popular models")
    top = stats["popular_models"][0]
    expect(models.get_by_role("listitem").first).to_contain_text(top["value"])
    expect(models.get_by_role("listitem").first).to_contain_text(f"{top['count']} jobs")
    expect(page.get_by_role("list", name="Popular datasets")).to_contain_text("Shared finished jobs")
    expect(page.get_by_role("table", name="Jobs per day").locator("tbody tr")).to_have_count(len(stats["jobs_per_day"]))
    trends = page.get_by_role("region", name="Configuration trends")
    expect(trends).to_contain_text("learning_rate")
    expect(trends).to_contain_text("0.003")
    shots(page, "analytics")
    assert_accessible(page)

    page.get_by_role("radio", name="Per hour").click()
    expect(page.get_by_role("table", name="Jobs per hour").locator("tbody tr")).to_have_count(len(stats["jobs_per_hour"]))
    page.get_by_label("Window").select_option(label="Last 24 hours")
    expect(summary.locator("dt", has_text="Jobs").locator("xpath=following-sibling::dd[1]")).to_have_text(str(stats["total_jobs"]))


def test_overview_shows_the_path_recent_jobs_and_health(page, suite, shots):
    a, b = finished_jobs(suite)
    page.goto("/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_text(re.compile(r"All 4 services serving"))).to_be_visible()

    path = page.get_by_role("navigation", name="Workflow stages")
    stages = [("Upload a dataset", "/datasets/new"), ("Pick a model", "/models"), ("Configure", "/configure"),
              ("Create a job", "/jobs/new"), ("Watch it", "/jobs"), ("Test it", "/playground")]
    expect(path.get_by_role("link")).to_have_count(len(stages))
    for name, href in stages:
        expect(path.get_by_role("link", name=re.compile(name))).to_have_attribute("href", href)

    with client(suite) as c:
        newest = c.get("/v1/jobs", params={"page_size": 8}).json()["jobs"]
    assert {a["job_uid"], b["job_uid"]} <= {j["job_uid"] for j in newest} or len(newest) == 8
    recent = page.get_by_role("table", name="Recent jobs")
    expect(recent.locator("tbody tr")).to_have_count(len(newest))
    for job in newest:
        row = recent.locator(f'tr[data-job="{job["job_uid"]}"]')
        expect(row.get_by_role("link", name=job["display_name"])).to_have_attribute("href", f"/jobs/{job['job_uid']}")
        if job["state"] == "JOB_STATE_COMPLETED":
            expect(row).to_contain_text("Completed")
            expect(row.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    shots(page, "overview")
    assert_accessible(page)

    path.get_by_role("link", name=re.compile("Test it")).click()
    expect(page).to_have_url(suite.url + "/playground")
