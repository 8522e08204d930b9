"""The report in a real browser: headless Chromium (through its own chromedriver, driven by
selenium) opens each page from disk, the DOM holds every GPU and NIC of the sample with the
right relation colours, the copy buttons copy, nothing is requested from anywhere, and a
screenshot is saved (to $DUALNET_REPORT_SCREENSHOTS when set, else the test's tmp dir).

Under CI=true a missing Chromium fails these tests (tests/conftest.require)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dualnet.host.models import HostReport
from dualnet.report import ReportInputs, report_html
from dualnet.report.topology import leaf_devices
from tests.helpers import require
from tests.report.pages import (
    DRA_NODES,
    NODES,
    dra_inputs,
    fleet_bench,
    sample_inputs,
    sample_report,
)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1000"]

# The page's colours for each relation (report.css --PIX ... --SYS), as getComputedStyle says.
RELATION_RGB = {"PIX": "rgb(26, 152, 80)", "PXB": "rgb(145, 207, 96)",
                "PHB": "rgb(230, 194, 41)", "NODE": "rgb(252, 141, 89)",
                "SYS": "rgb(215, 48, 39)"}

# Recorded before any page script runs: every CSP violation the page causes.
WATCH = ("window.__violations = [];"
         "document.addEventListener('securitypolicyviolation', e => "
         "window.__violations.push(e.blockedURI + ' ' + e.violatedDirective));")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require(Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file(),
            "chromium and chromedriver (Debian packages chromium, chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="dualnet-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _open(browser: Any, path: Path) -> str:
    browser.get_log("performance")  # drop what earlier pages logged
    url = path.resolve().as_uri()
    browser.get(url)
    return url


def requests_leaving(browser: Any, url: str) -> list[str]:
    """Every request the page made or tried, other than loading itself: from the DevTools
    network log, the Resource Timing entries, and the CSP violations it caused."""
    seen = []
    for entry in browser.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            req = msg["params"]["request"]["url"]
            if req != url and msg["params"].get("documentURL") == url:
                seen.append(req)
    seen += browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    seen += browser.execute_script("return window.__violations || []")
    return seen


def _screenshot(browser: Any, name: str, tmp_path: Path) -> Path:
    where = Path(os.environ.get("DUALNET_REPORT_SCREENSHOTS", str(tmp_path)))
    where.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, min(int(height) + 40, 8000))
    path = where / f"{name}.png"
    assert browser.save_screenshot(str(path))
    assert path.stat().st_size > 10_000  # a real rendering, not a blank page
    browser.set_window_size(1400, 1000)
    return path


def _write(tmp_path: Path, name: str, inputs: ReportInputs) -> Path:
    page = tmp_path / f"{name}.html"
    page.write_text(report_html(inputs), encoding="utf-8")
    return page


def _check_devices(browser: Any, report: HostReport) -> None:
    from selenium.webdriver.common.by import By

    for dev in leaf_devices(report):
        found = browser.find_elements(
            By.CSS_SELECTOR, f'svg.topology g.device[data-pci="{dev.pci_address}"]')
        assert len(found) == 1, dev.pci_address
        box = found[0].rect
        assert box["width"] > 100 and box["height"] > 20  # laid out, visible
    for g in report.gpus:
        assert browser.find_elements(By.CSS_SELECTOR, f'g.device.gpu[data-device="GPU{g.index}"]')


def _check_relations(browser: Any, report: HostReport) -> None:
    from selenium.webdriver.common.by import By

    rel = {(t.gpu, t.nic): t.relation.value for t in report.topology}
    cells = browser.find_elements(By.CSS_SELECTOR, "svg.matrix rect.rel")
    assert len(cells) == len(rel)
    for c in cells:
        want = rel[(c.get_attribute("data-gpu"), c.get_attribute("data-nic"))]
        assert c.get_attribute("data-relation") == want
        assert c.value_of_css_property("fill") == RELATION_RGB[want]
    for arc in browser.find_elements(By.CSS_SELECTOR, "svg.topology path.arc"):
        want = rel[(arc.get_attribute("data-gpu"), arc.get_attribute("data-nic"))]
        assert arc.value_of_css_property("stroke") == RELATION_RGB[want]


@pytest.mark.parametrize("node", NODES)
def test_sample_page_in_chromium(node: str, browser: Any, tmp_path: Path,
                                 samples_root: Path) -> None:
    from selenium.webdriver.common.by import By

    inputs = sample_inputs(node, samples_root)
    url = _open(browser, _write(tmp_path, node, inputs))
    assert browser.find_element(By.ID, "hostname").text == inputs.host.hostname
    _check_devices(browser, inputs.host)
    _check_relations(browser, inputs.host)
    mgmt = browser.find_elements(By.CSS_SELECTOR, "svg.topology g.device.mgmt")
    assert inputs.host.management is not None
    assert [m.get_attribute("data-netdev") for m in mgmt] == [inputs.host.management.name]
    pods = browser.find_elements(By.CSS_SELECTOR, "svg.podnet")
    assert len(pods) == (len(inputs.plan.hosts) if inputs.plan else 0)
    findings = browser.find_elements(By.CSS_SELECTOR, "article.finding")
    assert len(findings) == len(inputs.doctor.findings)
    buttons = browser.find_elements(By.CSS_SELECTOR, "button.copy")
    if buttons:
        from selenium.webdriver.support.ui import WebDriverWait

        buttons[0].click()  # the handler awaits the clipboard: wait for its verdict
        WebDriverWait(browser, 10).until(lambda _: buttons[0].get_attribute("data-copied"))
        assert buttons[0].get_attribute("data-copied") == "yes"
        assert buttons[0].text == "copied"
    assert requests_leaving(browser, url) == []
    _screenshot(browser, f"report-{node}", tmp_path)


def test_fleet_bench_page_in_chromium(browser: Any, tmp_path: Path, samples_root: Path) -> None:
    from selenium.webdriver.common.by import By

    inputs = sample_inputs("dgx_h100_ib", samples_root)
    inputs.benches = [fleet_bench(sample_report("dgx_h100_ib", samples_root))]
    url = _open(browser, _write(tmp_path, "fleet", inputs))
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert [c.get_attribute("data-chart") for c in charts] == [
        "ib_write_bw-0-0", "ib_write_bw-0-1", "all_reduce_perf-0"]
    for c in charts:
        levels = c.find_elements(By.CSS_SELECTOR, "g.level line")
        assert len(levels) == 2 and all(x.rect["width"] > 300 for x in levels)
        assert c.find_elements(By.CSS_SELECTOR, "g.series polyline")
    floor = charts[0].find_element(By.CSS_SELECTOR, "g.level.floor line")
    assert floor.value_of_css_property("stroke") == "rgb(207, 34, 46)"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#bench-table tbody tr")) == 3
    assert requests_leaving(browser, url) == []
    _screenshot(browser, "report-fleet-bench", tmp_path)


@pytest.mark.parametrize("node", sorted(DRA_NODES))
def test_dra_page_draws_the_claim_in_chromium(node: str, browser: Any, tmp_path: Path,
                                              samples_root: Path) -> None:
    """`report --target dra`: the pod asks for a ResourceClaim (laid out, its wire to the DRA
    driver drawn), the claim's alignment is shown, and no device-plugin resource is drawn."""
    from selenium.webdriver.common.by import By

    inputs = dra_inputs(node, samples_root)
    url = _open(browser, _write(tmp_path, f"{node}-dra", inputs))
    (pod,) = browser.find_elements(By.CSS_SELECTOR, 'svg.podnet[data-target="dra"]')
    claim = pod.find_element(By.CSS_SELECTOR, 'g.chip.claim[data-key="claim"]')
    assert claim.rect["width"] > 100 and claim.rect["height"] > 20
    assert "ResourceClaimTemplate" in claim.text
    assert claim.find_element(By.CSS_SELECTOR, "rect").value_of_css_property(
        "stroke") == "rgb(26, 127, 55)"
    driver = pod.find_element(By.CSS_SELECTOR, 'g.chip.driver[data-key="driver"]')
    assert "DRA driver dra.net" in driver.text
    wire = pod.find_element(By.CSS_SELECTOR, 'g.link.claim[data-from="claim"] path.wire')
    assert wire.rect["width"] > 100
    align = pod.find_element(By.CSS_SELECTOR, 'g.chip.align[data-key="align"]')
    want = "pcieRoot" if node == "dgx_h100_ib" else "numaNode"
    assert f"alignment: {want}" in align.text
    assert not pod.find_elements(By.CSS_SELECTOR, 'g[data-key="resource"], g[data-key="plugin"]')
    assert requests_leaving(browser, url) == []
    _screenshot(browser, f"report-{node}-dra", tmp_path)


def test_the_request_check_catches_a_page_that_loads_something(
        browser: Any, tmp_path: Path, samples_root: Path) -> None:
    """The check above can fail: a remote image (on loopback's discard port, so nothing leaves
    this machine) is seen in a page without our CSP, and blocked and reported in ours."""
    bare = tmp_path / "bare.html"
    bare.write_text('<html><body><img src="http://127.0.0.1:9/x.png"></body></html>')
    url = _open(browser, bare)
    assert "http://127.0.0.1:9/x.png" in requests_leaving(browser, url)

    page = report_html(sample_inputs("gh200", samples_root)).replace(
        "</main>", '<img src="http://127.0.0.1:9/y.png"></main>')
    ours = tmp_path / "ours.html"
    ours.write_text(page, encoding="utf-8")
    url = _open(browser, ours)
    leaving = requests_leaving(browser, url)
    assert leaving and all("127.0.0.1:9/y.png" in x for x in leaving)
    assert any("img-src" in x for x in leaving)  # blocked by the CSP, reported as a violation
