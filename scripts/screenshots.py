"""Screenshots of the platform's pages for docs/screenshots/ (headless Debian Chromium via Playwright).

Usage: python scripts/screenshots.py --base-url http://127.0.0.1:8000 --username admin --password ... [--project 1]
Needs a running platform (`make run`, which loads the demo) and `scripts/install_browser.sh`.
"""
import argparse
import sys
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def launch(playwright):
    """Debian's Chromium, never a downloaded browser."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def login(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def shoot(page, out: Path, name: str, *, full_page: bool = True) -> None:
    page.wait_for_timeout(400)
    page.screenshot(path=str(out / f"{name}.png"), full_page=full_page)
    print(f"wrote {out / name}.png")


def wizard_shots(page, out: Path) -> None:
    """The wizard's first steps on the demo's SQLite connection."""
    page.click("#new-job-button")
    page.fill("#wz-name", "Orders copy")
    page.select_option("#wz-connection", index=1)
    shoot(page, out, "wizard-1-name", full_page=False)
    page.click("#wizard-next")
    page.wait_for_selector("#wz-tables label")
    page.check("#wz-tables label:has-text('orders') input")
    shoot(page, out, "wizard-2-source", full_page=False)
    page.click("#wizard-next")
    page.wait_for_selector("#wz-table-configs .modes")
    shoot(page, out, "wizard-3-tables", full_page=False)
    page.click("#wizard-next")
    page.wait_for_selector("#wz-destinations .dest-columns")
    shoot(page, out, "wizard-4-destination", full_page=False)
    page.click("#wizard-next")
    page.select_option("#wz-schedule-type", "weekly")
    page.wait_for_selector("#wz-next-runs ol li")
    shoot(page, out, "wizard-5-schedule", full_page=False)
    page.keyboard.press("Escape")


def run_all_jobs(page, base: str) -> None:
    """Press Run now on every job and wait until no run is active (the demo's first load)."""
    page.goto(f"{base}/etl/")
    buttons = page.locator("[data-job-action=run]").all()
    for button in buttons:
        button.click()
        page.wait_for_timeout(800)
    for _ in range(360):
        page.wait_for_timeout(500)
        table = page.locator("#runs-table")
        if table.get_attribute("data-active") == "0" and page.locator("tr.run-row").count() >= len(buttons):
            return
    raise TimeoutError("runs did not finish in 3 minutes")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", required=True)
    parser.add_argument("--project", type=int, default=1)
    parser.add_argument("--run-jobs", action="store_true", help="press Run now on every job first")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "docs" / "screenshots"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        login(page, args.base_url, args.username, args.password)
        base = f"{args.base_url}/models/{args.project}"
        if args.run_jobs:
            run_all_jobs(page, base)
        for name, path in [("system-dashboard", "/"), ("project-dashboard", f"/models/{args.project}/"),
                           ("etl-page", f"/models/{args.project}/etl/"),
                           ("dataset", f"/models/{args.project}/dataset/")]:
            page.goto(f"{args.base_url}{path}")
            page.wait_for_load_state("networkidle")
            shoot(page, out, name)
        page.goto(f"{base}/etl/")
        if page.locator("tr.run-row").count():
            page.locator("tr.run-row").first.click()
            page.wait_for_selector("#run-detail .detail")
            page.wait_for_timeout(400)
            page.locator("#runs-card").screenshot(path=str(out / "run-detail.png"))
            print(f"wrote {out / 'run-detail.png'}")
        page.click("[data-open='connection-new']")
        shoot(page, out, "connection-modal", full_page=False)
        page.keyboard.press("Escape")
        wizard_shots(page, out)
        browser.close()
    for error in errors:
        print(f"console error: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
