"""Draw docs/images/report.png: the report's explorer after a click.

Simulates a barrier, computes its pCF, writes the HTML report and opens
it in a headless Chromium (system package) through Playwright, clicks a
pixel next to the wall and saves a picture of the explorer. Run from the
repository root::

    .venv/bin/python docs/images/make_report_screenshot.py

"""

import shutil
import sys
import tempfile
from pathlib import Path

import ipcf
from ipcf import report

HERE = Path(__file__).resolve().parent
CHROMIUM = ('chromium', 'chromium-browser', 'google-chrome', 'chrome')


def main() -> int:
    """Write the picture; return the exit status."""
    from playwright import sync_api

    executable = next(filter(None, map(shutil.which, CHROMIUM)), None)
    if executable is None:
        print('needs Chromium (apt-get install chromium)', file=sys.stderr)
        return 1
    sim = ipcf.simulate.barrier(shape=(4096, 40, 40), seed=3)
    result = ipcf.pcf_image(sim.data, radius=4, npoints=16, nbins=24, dt=0.001)
    text = report.report_html(result, data=sim.data, pixel_size=0.1)
    with tempfile.TemporaryDirectory() as tmp:
        page_path = Path(tmp, 'report.html')
        page_path.write_text(text, encoding='utf-8')
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, args=['--no-sandbox']
            )
            page = browser.new_page(viewport={'width': 1300, 'height': 900})
            page.goto(page_path.as_uri())
            page.wait_for_load_state('load')
            canvas = page.query_selector('#ipcf-mean')
            x0, y0, w, h = map(
                float, canvas.get_attribute('data-box').split(',')
            )
            canvas.click(position={'x': x0 + 0.4 * w, 'y': y0 + 0.5 * h})
            explorer = page.query_selector('#ipcf-explore')
            explorer.screenshot(path=str(HERE / 'report.png'))
            browser.close()
    print(f'wrote {HERE / "report.png"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
