"""Writes docs/dashboard-job.png: the job page of a finished run, as the README shows it.

Starts the whole suite on free ports (a scratch data folder), trains the customer-support example on the
built-in model for a few hundred steps with a validation split, and photographs the job page in Debian's
Chromium. `FINETUNE_GATEWAY_WEB_DIR` picks another dashboard build than web/dist.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.suite import running_suite  # noqa: E402
from tests.web.helpers import create_job, support_rows, upload_dataset, wait_for_job  # noqa: E402

OUT = ROOT / "docs" / "dashboard-job.png"


def main() -> None:
    with tempfile.TemporaryDirectory() as data, running_suite(Path(data)) as suite:
        dataset = upload_dataset(suite, "Customer support", support_rows(160), validation_fraction="0.1")
        job = create_job(suite, dataset["uid"], "Customer support v1", epochs=3, batch_size=4, learning_rate=0.0005,
                         max_seq_length=128, eval_steps=10, logging_steps=1)
        wait_for_job(suite, job["jobUid"], ("JOB_STATE_COMPLETED",), timeout=900)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium")
            page = browser.new_page(viewport={"width": 1400, "height": 1500}, device_scale_factor=1)
            page.goto(f"{suite.url}/jobs/{job['jobUid']}")
            page.get_by_text("Final metrics").wait_for()
            page.locator("[data-points]").first.wait_for()
            page.locator("[data-stream-status=ended]").wait_for()  # the charts are drawn by then, the stream closed
            page.screenshot(path=str(OUT))
            browser.close()
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
