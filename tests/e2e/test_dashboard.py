"""The dashboard renders and "Take region down" works, in Debian's headless Chromium driven by
Playwright (Playwright's own browser download cannot work here). Keeps a screenshot."""

from __future__ import annotations

import os
import shutil

import pytest
from playwright import sync_api

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium() -> str | None:
    return os.environ.get("APPX_CHROMIUM") or shutil.which("chromium") or (os.path.exists("/usr/bin/chromium") and "/usr/bin/chromium") or None


def test_dashboard_take_region_down(healthy, artifacts):
    exe = chromium()
    if exe is None:
        pytest.fail("Debian's chromium is not installed (apt-get install -y chromium)")
    stack = healthy
    # Some traffic so the request table has rows.
    for country in ("FR", "DE", "IE"):
        stack.request("GET", "/v1/feed?limit=3", country=country)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{stack.edge}/_control/", wait_until="domcontentloaded", timeout=15000)
            card = page.locator('.region[data-region="eu-central-1"]')
            card.wait_for(timeout=10000)
            assert card.get_attribute("data-healthy") == "true"
            assert page.locator("#zones").inner_text().count("origin") >= 2
            assert page.locator('.zone[data-zone="de"]').get_attribute("data-status") == "served"
            card.locator('button[data-action="down"]').click()
            page.wait_for_selector('.region[data-region="eu-central-1"][data-down="true"]', timeout=10000)
            # The strict zone has no other region: unavailable at once, before Route 53 notices.
            page.wait_for_selector('.zone[data-zone="de"][data-status="unavailable"]', timeout=10000)
            assert "unavailable" in page.locator('.zone[data-zone="de"] .zone-status').inner_text()
            assert page.locator('.zone[data-zone="eu"]').get_attribute("data-status") == "served"
            # A region that is already down is not offered to be taken down again; it can recover.
            down = page.locator('.region[data-region="eu-central-1"]')
            assert down.locator('button[data-action="down"]').count() == 0
            assert down.locator('button[data-action="recover"]').count() == 1
            assert page.locator('.region[data-region="eu-west-1"] button[data-action="down"]').count() == 1
            page.wait_for_selector('.region[data-region="eu-central-1"][data-healthy="false"]', timeout=15000)
            assert "DOWN" in page.locator('.region[data-region="eu-central-1"] .faults').inner_text()
            assert page.locator('.region[data-region="eu-central-1"] .status').inner_text() == "unhealthy"
            # Traffic after the failure shows its routing decision in the request table.
            stack.request("GET", "/v1/me", country="DE", token="appx2.u_de_" + "a" * 26 + ".s_" + "a" * 26 + "." + "b" * 43)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(artifacts / "dashboard-region-down.png"), full_page=True)
            assert (artifacts / "dashboard-region-down.png").stat().st_size > 10_000
        finally:
            browser.close()
    assert next(r for r in stack.status()["regions"] if r["region"] == "eu-central-1")["faults"]["down"]
