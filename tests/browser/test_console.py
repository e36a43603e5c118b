"""The events console in a real browser: Debian's headless Chromium, driven by Playwright, against
the local stack started in this process with seeded events.

Screenshots land in test-artifacts/. With EVENTHUB_DOCS_SCREENSHOT=1 the list view is also saved
as docs/console.png, the README's picture.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LOCAL_CONFIG, ROOT
from tests.support import clock

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

ARTIFACTS = ROOT / "test-artifacts"
DOCS_SCREENSHOT = ROOT / "docs" / "console.png"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ACME_KEY = "dev-key-acme-000000"


def chromium_executable() -> str:
    """Debian's chromium (`make test` installs it where it can). Where it is missing, the browser
    tests are skipped with one line saying how to enable them; with CI=true they must run."""
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true: the browser tests need Debian's chromium (`apt-get install chromium`)")
    pytest.skip(
        "BROWSER TESTS SKIPPED: Debian's chromium is not installed; enable them with "
        "`sudo apt-get install chromium` (or `make test` as root)"
    )


# -- seeded events ---------------------------------------------------------------------------------


class Seed:
    """Events written through the stack's EventStore, timed relative to now."""

    def __init__(self) -> None:
        from functions.models.event import utcnow

        self.now = utcnow()
        self.events: list[Any] = []
        self.files: dict[str, bytes] = {}

    def add(
        self,
        minutes_ago: float,
        event_type: str,
        *,
        tenant: str = "acme",
        source: str = "vai",
        resource: tuple[str, str] | None = None,
        correlation: str | None = None,
        cause: Any = None,
        actor: tuple[str, str] = ("provider", "extend-dev"),
        payload: dict[str, Any] | None = None,
        files: dict[str, bytes] | None = None,
    ) -> Any:
        from functions.models.event import (
            Artifact,
            ArtifactStatus,
            CanonicalEvent,
            Channel,
            event_id_for,
            format_timestamp,
        )

        source_id = f"{event_type}-{len(self.events)}"
        at = format_timestamp(self.now - timedelta(minutes=minutes_ago))
        event_id = event_id_for(tenant, source, source_id)
        artifacts = [
            Artifact(
                name=name,
                source_url=f"https://files.example.invalid/{name}",
                status=ArtifactStatus.COPIED,
                s3_key=f"artifacts/{tenant}/{event_id}/{index}",
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                content_type="application/pdf",
                copied_at=at,
            )
            for index, (name, data) in enumerate((files or {}).items())
        ]
        self.files.update({a.s3_key: data for a, data in zip(artifacts, (files or {}).values(), strict=True)})
        event = CanonicalEvent(
            id=event_id,
            tenant_id=tenant,
            source=source,
            source_event_id=source_id,
            event_type=event_type,
            occurred_at=at,
            received_at=at,
            resource_type=resource[0] if resource else None,
            resource_id=resource[1] if resource else None,
            correlation_id=correlation,
            causation_id=cause.id if cause is not None else None,
            actor_type=actor[0],
            actor_id=actor[1],
            channel=Channel.WEBHOOK,
            payload=payload or {"type": event_type},
            artifacts=artifacts,
        )
        self.events.append(event)
        return event

    def of(self, tenant: str = "acme") -> list[Any]:
        return [e for e in self.events if e.tenant_id == tenant]


FLOW = "wfr_7f3a2c"
REPORT = b"%PDF-1.4 the analysis report\n"


def seed_events() -> Seed:
    seed = Seed()
    run = ("workflow_run", "wfr_7f3a2c")
    started = seed.add(58, "workflow_run.started", source="extend", resource=run, correlation=FLOW)
    parsed = seed.add(
        55,
        "parse_run.processed",
        source="extend",
        resource=("parse_run", "pr_1"),
        correlation=FLOW,
        cause=started,
    )
    seed.add(
        51,
        "classify_run.processed",
        source="extend",
        resource=("classify_run", "clr_9"),
        correlation=FLOW,
        cause=parsed,
    )
    extracted = seed.add(
        47,
        "extract_run.processed",
        source="extend",
        resource=("extract_run", "exr_4"),
        correlation=FLOW,
        cause=parsed,
    )
    seed.add(44, "workflow_run.completed", source="extend", resource=run, correlation=FLOW, cause=extracted)
    webset = ("webset", "ws_01j9x")
    seed.add(
        40,
        "webset.created",
        source="exa",
        resource=webset,
        correlation="ws_01j9x",
        actor=("provider", "exa-dev"),
    )
    for n in range(3):
        seed.add(
            36 - 4 * n,
            "webset.item.created",
            source="exa",
            resource=webset,
            correlation="ws_01j9x",
            actor=("provider", "exa-dev"),
            payload={"item": n},
        )
    seed.add(
        20,
        "webset.idle",
        source="exa",
        resource=webset,
        correlation="ws_01j9x",
        actor=("provider", "exa-dev"),
    )
    seed.add(
        15,
        "analysis.analysis_finished",
        source="klavi",
        resource=("analysis", "batch-2024-118"),
        correlation="batch-2024-118",
        actor=("provider", "klavi-push"),
        payload={"note": "<img src=x onerror=\"document.title='pwned'\"> & <b>bold</b>"},
        files={"credit-report.pdf": REPORT},
    )
    seed.add(
        9,
        "schedule.fired",
        resource=("automation", "5f0c1b3e-8a8d-4c47-9a1e-0a9b5d2c7e11"),
        correlation="sched-1",
        actor=("system", "scheduler"),
    )
    seed.add(
        4,
        "action_run.completed",
        resource=("action_run", "0c5b7a0e-2f6d-4a8e-b1c3-6d2f1e9a4b70"),
        correlation="sched-1",
        actor=("user", "u_ada"),
    )
    seed.add(
        2,
        "webset.created",
        tenant="globex",
        source="standard-webhooks",
        resource=("webset", "ws_other"),
        correlation="globex-flow",
    )
    return seed


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    return chromium_executable()


@pytest.fixture(scope="module")
def stack(chromium: str) -> Iterator[Any]:
    from eventhub.local.stack import LocalStack

    with LocalStack(LOCAL_CONFIG) as running:
        yield running


@pytest.fixture(scope="module")
def seed(stack: Any) -> Seed:
    from functions.adapters.blob_store import BlobStore
    from functions.adapters.event_store import EventStore
    from functions.models.event import NewEvent

    store = EventStore(
        stack.resources["table"],
        stack.client("dynamodb"),
        BlobStore(stack.resources["bucket"], stack.client("s3")),
    )
    seeded = seed_events()
    for key, data in seeded.files.items():
        store.blobs.put(key, data, "application/pdf")
    for event in seeded.events:
        store.put(NewEvent(event=event))
    wait_until_counted(stack.url, len(seeded.of("acme")))
    return seeded


def wait_until_counted(url: str, expected: int, deadline_seconds: float = 30.0) -> None:
    """Totals and charts come from counters the aggregator keeps off the table's stream: wait
    (bounded) until it has counted every seeded event."""
    import json
    import time
    import urllib.request

    request = urllib.request.Request(f"{url}/api/v1/events/aggregate", headers={"X-API-Key": ACME_KEY})
    total = None
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        with urllib.request.urlopen(request, timeout=10) as response:
            total = json.load(response)["total"]
        if total == expected:
            return
        time.sleep(0.2)
    raise AssertionError(f"the aggregator counted {total} of {expected} seeded events in {deadline_seconds}s")


@pytest.fixture(scope="module")
def browser_context(chromium: str) -> Iterator[Any]:
    with (
        playwright_api.sync_playwright() as driver,
        tempfile.TemporaryDirectory(prefix="chromium-") as profile,
    ):
        context = driver.chromium.launch_persistent_context(
            profile,
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 820},
        )
        context.set_default_timeout(15_000)
        if clock.shift_days(None):
            # the browser's clock follows the suite's when it runs moved (make test-future)
            context.clock.install(time=datetime.now(UTC))
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context: Any, stack: Any, seed: Seed) -> Iterator[Any]:
    tab = browser_context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(str(error)))
    tab.goto(f"{stack.url}/console")
    tab.fill("#api-key", ACME_KEY)
    tab.click("#key-form button[type=submit]")
    yield tab
    tab.close()
    assert problems == [], f"script errors in the console: {problems}"


def screenshot(tab: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path


def row_ids(tab: Any, table: str) -> list[str]:
    return tab.locator(f"[data-testid={table}] tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.eventId)"
    )


# -- the tests -------------------------------------------------------------------------------------


def test_the_list_shows_the_tenants_events_newest_first(page: Any, seed: Seed) -> None:
    # Given acme's seeded events, listed in the console after signing in with acme's key
    acme = seed.of("acme")
    # When the list view loads
    rows = page.locator("[data-testid=events-table] tbody tr")

    # Then it shows every acme event, newest first, with the total
    expect(rows).to_have_count(len(acme))
    newest_first = sorted(acme, key=lambda e: e.occurred_at, reverse=True)
    assert row_ids(page, "events-table") == [e.id for e in newest_first]
    expect(page.get_by_test_id("events-count")).to_have_text(f"1–{len(acme)} of {len(acme)} events")
    # And none of globex's events
    expect(page.locator("tbody")).not_to_contain_text("ws_other")  # globex's event

    # And the view is saved as a screenshot (also the README's picture when asked)
    path = screenshot(page, "console-events")
    if os.environ.get("EVENTHUB_DOCS_SCREENSHOT"):
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOT)


def test_a_filter_narrows_the_list(page: Any, seed: Seed) -> None:
    # Given the list showing all of acme's events
    expect(page.locator("[data-testid=events-table] tbody tr")).to_have_count(len(seed.of("acme")))

    # When the list is filtered by one event type
    page.fill("#f-event_type", "webset.item.created")
    page.get_by_test_id("apply-filters").click()

    # Then only the events of that type are listed and counted
    items = [e for e in seed.of("acme") if e.event_type == "webset.item.created"]
    rows = page.locator("[data-testid=events-table] tbody tr")
    expect(rows).to_have_count(len(items))
    expect(page.get_by_test_id("events-count")).to_have_text(f"1–{len(items)} of {len(items)} events")
    assert sorted(row_ids(page, "events-table")) == sorted(e.id for e in items)
    # And the filter is kept in the page's address
    assert "event_type=webset.item.created" in page.url
    screenshot(page, "console-filtered")


def test_a_filter_the_api_refuses_is_explained(page: Any, seed: Seed) -> None:
    # Given the list showing all of acme's events
    expect(page.locator("[data-testid=events-table] tbody tr")).to_have_count(len(seed.of("acme")))

    # When the list is filtered by a resource type the API does not know
    page.fill("#f-resource_type", "no_such_kind")
    page.get_by_test_id("apply-filters").click()

    # Then the page shows the API's refusal and the field it refused
    error = page.get_by_test_id("error")
    expect(error).to_contain_text("Invalid request")
    expect(error).to_contain_text("resource_type:")


def test_the_source_filter_narrows_the_list_to_one_provider(page: Any, seed: Seed) -> None:
    expect(page.locator("[data-testid=events-table] tbody tr")).to_have_count(len(seed.of("acme")))

    page.fill("#f-source", "exa")
    page.get_by_test_id("apply-filters").click()

    exa = [e for e in seed.of("acme") if e.source == "exa"]
    rows = page.locator("[data-testid=events-table] tbody tr")
    expect(rows).to_have_count(len(exa))
    expect(page.get_by_test_id("events-count")).to_have_text(f"1–{len(exa)} of {len(exa)} events")
    assert sorted(row_ids(page, "events-table")) == sorted(e.id for e in exa)


def test_an_event_is_found_by_its_providers_id(page: Any, seed: Seed) -> None:
    finished = next(e for e in seed.of("acme") if e.source == "klavi")
    expect(page.locator("[data-testid=events-table] tbody tr")).to_have_count(len(seed.of("acme")))

    page.fill("#find-source", "klavi")
    page.fill("#find-id", finished.source_event_id)
    page.get_by_test_id("find").click()

    fields = page.get_by_test_id("event-fields")
    expect(fields).to_contain_text(finished.id)
    expect(fields).to_contain_text(finished.source_event_id)
    expect(fields).to_contain_text("webhook")
    assert "source_event_id=" in page.url
    # the same id under another source, or another tenant's provider id, finds nothing
    globex = next(e for e in seed.of("globex"))
    for source, source_id in (("exa", finished.source_event_id), (globex.source, globex.source_event_id)):
        page.get_by_role("link", name="← Recent events").click()
        page.fill("#find-source", source)
        page.fill("#find-id", source_id)
        page.get_by_test_id("find").click()
        expect(page.get_by_test_id("not-found")).to_have_text(f"No {source} event with id {source_id}.")


def test_the_correlation_view_draws_the_flows_events_and_causation_links(page: Any, seed: Seed) -> None:
    # Given the events of one flow (one correlation id)
    flow = [e for e in seed.of("acme") if e.correlation_id == FLOW]

    # When the flow's correlation link is followed from the list
    page.locator(f"[data-testid=events-table] a[href='#/correlation/{FLOW}']").first.click()

    # Then the timeline draws each of its events, oldest first
    points = page.locator("[data-testid=timeline] g.event")
    expect(points).to_have_count(len(flow))
    drawn = points.evaluate_all("groups => groups.map(g => g.dataset.eventId)")
    assert drawn == [e.id for e in sorted(flow, key=lambda e: e.occurred_at)]
    # And an arrow from each cause to its effect
    links = page.locator("[data-testid=timeline] path.link").evaluate_all(
        "paths => paths.map(p => [p.dataset.from, p.dataset.to])"
    )
    assert sorted(links) == sorted([e.causation_id, e.id] for e in flow if e.causation_id)
    # And says how many of the flow's events it shows
    expect(page.get_by_test_id("flow-count")).to_contain_text(f"{len(flow)} of {len(flow)} events")
    screenshot(page, "console-correlation")


def test_event_detail_shows_the_payload_as_text_never_as_markup(page: Any, seed: Seed) -> None:
    # Given an event whose payload holds markup and a script
    finished = next(e for e in seed.of("acme") if e.event_type == "analysis.analysis_finished")

    # When its detail is opened
    page.locator(f"[data-testid=events-table] tr[data-event-id='{finished.id}'] a").last.click()

    # Then the markup is shown as text
    payload = page.get_by_test_id("payload")
    expect(payload).to_contain_text("<img src=x onerror=")
    expect(payload).to_contain_text("<b>bold</b>")
    # And no element is made from it, nor does its script run
    assert page.locator("[data-testid=event-detail] img, [data-testid=event-detail] b").count() == 0
    assert page.title() == "Event hub console"
    # And the event's fields are shown
    expect(page.get_by_test_id("event-fields")).to_contain_text("batch-2024-118")
    screenshot(page, "console-event")


def test_a_refused_key_asks_for_the_key_again(browser_context: Any, stack: Any) -> None:
    # Given the console page opened in a new tab
    tab = browser_context.new_page()
    try:
        tab.goto(f"{stack.url}/console")
        # When a key the API refuses is submitted
        tab.fill("#api-key", "not-a-valid-key")
        tab.click("#key-form button[type=submit]")

        # Then the page asks for a valid key again
        expect(tab.locator("#key-error")).to_have_text("The API key was refused. Enter a valid key.")
        # And the refused key is not kept
        assert tab.evaluate("sessionStorage.getItem('eventhub.apiKey')") is None
    finally:
        tab.close()


def test_an_artifact_downloads_our_copy(page: Any, seed: Seed) -> None:
    # Given an event with a copied artifact, opened in the detail view
    finished = next(e for e in seed.of("acme") if e.artifacts)
    page.locator(f"[data-testid=events-table] tr[data-event-id='{finished.id}'] a").last.click()
    # And the detail lists the artifact as copied
    expect(page.get_by_test_id("artifacts")).to_contain_text("credit-report.pdf")
    expect(page.get_by_test_id("artifacts")).to_contain_text("copied")

    # When its download is clicked
    with page.expect_download() as download:
        page.get_by_test_id("download").click()

    # Then the browser saves our copy's bytes under the artifact's name
    assert Path(download.value.path()).read_bytes() == REPORT
    assert download.value.suggested_filename == "credit-report.pdf"


def test_the_charts_count_events_per_type_over_the_range(page: Any, seed: Seed) -> None:
    # Given the number of acme's events of each type
    expected: dict[str, int] = {}
    for event in seed.of("acme"):
        expected[event.event_type] = expected.get(event.event_type, 0) + 1

    # When the charts view is opened
    page.locator(".tabs a[data-view=charts]").click()

    # Then the event-type chart has a bar per type with its count
    bars = page.locator("[data-testid=chart-event-types] g.bar")
    expect(bars).to_have_count(len(expected))
    drawn = bars.evaluate_all("groups => groups.map(g => [g.dataset.key, Number(g.dataset.count)])")
    assert dict(drawn) == expected
    # And the total counts every event in the range
    expect(page.get_by_test_id("charts-total")).to_contain_text(f"{sum(expected.values())} events")
    screenshot(page, "console-charts")
