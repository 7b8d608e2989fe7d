"""Regenerate the README's screenshots: the organizer's admin and a participant page (run by hand).

    .venv/bin/python docs/make_screenshots.py

Starts a server on a scratch database with the demo screening, then drives Debian's Chromium.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM, Server  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def main() -> int:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder) / "data")
        server.manage("migrate", "--noinput")
        first = server.manage("load_demo", "--base-url", server.url)
        link = next(line.split()[-1] for line in first.splitlines() if "A personal link" in line)
        # Loading again adds a second invite and sets a new organizer password, which is the one to use.
        second = server.manage("load_demo", "--base-url", server.url)
        password = second.split("password ")[1].split()[0]
        server.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                admin = browser.new_page(viewport={"width": 1280, "height": 640})
                admin.goto(server.url + "/admin/login/")
                admin.fill("#id_username", "organizer")
                admin.fill("#id_password", password)
                admin.click("input[type=submit]")
                admin.goto(server.url + "/admin/screenings/screening/")
                admin.screenshot(path=str(OUT / "admin-screenings.png"))
                phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
                phone.goto(link)
                phone.get_by_role("button", name="I agree, take part").click()
                phone.wait_for_url("**/before/")
                phone.screenshot(path=str(OUT / "participant-questionnaire.png"), full_page=False)
                browser.close()
        finally:
            server.stop()
    print(f"screenshots in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
