"""The dashboard's frame: served on every gateway port, navigation by stage, client routes after a reload,
an unknown page said plainly, keyboard reachable, and no serious accessibility violation."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.web.conftest import assert_accessible

STAGES = ["Overview", "Datasets", "Models", "Configure", "Jobs", "Compare", "Sweeps", "Playground", "Analytics"]


def test_every_stage_is_one_click_away_and_survives_a_reload(page, suite, shots):
    page.goto("/")
    nav = page.get_by_role("navigation", name="Main")
    for stage in STAGES:
        expect(nav.get_by_role("link", name=stage)).to_be_visible()
    nav.get_by_role("link", name="Jobs").click()
    expect(page).to_have_url(suite.url + "/jobs")
    page.reload()  # the gateway answers the client route with the page
    expect(nav.get_by_role("link", name="Jobs")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name="All services serving")).to_be_visible()
    shots(page, "overview")
    assert_accessible(page)


def test_the_same_dashboard_is_served_on_every_gateway_port(page, suite):
    for url in suite.urls():
        page.goto(url + "/datasets")
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def test_an_unknown_page_says_so_and_links_home(page, shots):
    page.goto("/no/such/page")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_text("The dashboard has no page at /no/such/page.")).to_be_visible()
    shots(page, "not-found")


def test_keyboard_users_can_skip_to_the_content(page):
    page.goto("/")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()  # the app has rendered its frame
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
