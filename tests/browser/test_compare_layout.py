"""Issue 23, in the browser: `%%parallel --compare --timeline` in a real Notebook 7 and a real
JupyterLab 4, in headless Chromium at a projector's width: the table's cells hold their text on
one line, no word of the table, its notes or the summary is broken across lines, and both charts
(the comparison and the timelines) are there at a readable size. The charts' own texts are
checked with matplotlib's renderer (tests/progress/test_compare_figures.py)."""

from __future__ import annotations

import json
import time

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from jupyter_browser import ARTIFACTS, headless_chromium, jupyter_server, wait_for

# Microseconds of work: the kernel barely computes (the browser needs the 2 cores), and the serial
# run is too short to measure, so the notes and the long summary line are there to wrap.
CELL = "%%parallel --compare --timeline -w 2\nr = [x * x for x in range(8)]"
FRONT_ENDS = {"notebook": ("notebook", "notebooks"), "jupyterlab": ("jupyterlab", "lab/tree")}
WIDTH = 1024  # a projector (XGA), the file browser open: the long outputs must wrap


BROWSER_SECONDS = 300  # the time limit (conftest.py) of each test here


def write_notebook(path) -> None:
    notebook = {"cells": [{"cell_type": "code", "id": "compare", "metadata": {}, "source": CELL,
                           "outputs": [], "execution_count": None}],
                "metadata": {"kernelspec": {"name": "xparallel", "display_name": "xparallel",
                                            "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(notebook))


# For every text node in the cell's output: each word (run of non-spaces) must sit on one line,
# and each table cell's text too. A word split across lines has client rects on two lines.
LAYOUT = """
const area = document.querySelector('.jp-Cell .jp-OutputArea');
if (!area) return null;
const lines = (range) => new Set(Array.from(range.getClientRects())
    .filter(r => r.width > 0).map(r => Math.round(r.top + r.height / 2)));
const broken = [];
const walker = document.createTreeWalker(area, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
    const node = walker.currentNode, re = /\\S+/g;
    let m;
    while ((m = re.exec(node.textContent))) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        if (lines(range).size > 1) broken.push(m[0]);
    }
}
const cells = [];
for (const cell of area.querySelectorAll('table.xparallel-compare th, table.xparallel-compare td')) {
    const range = document.createRange();
    range.selectNodeContents(cell);
    const text = range.getBoundingClientRect(), box = cell.getBoundingClientRect();
    if (lines(range).size > 1 || text.right > box.right + 1 || text.left < box.left - 1)
        cells.push(cell.textContent);
}
const images = Array.from(area.querySelectorAll('img')).map(img =>
    ({shown: img.getBoundingClientRect().width, natural: img.naturalWidth}));
const summary = Array.from(area.querySelectorAll('.jp-OutputArea-output'))
    .map(o => o.textContent).find(t => t.includes(' items in ')) || null;
return {broken: broken, cells: cells, images: images, summary: summary,
        table: !!area.querySelector('table.xparallel-compare'),
        width: area.getBoundingClientRect().width};
"""


@pytest.mark.timeout(320)
@pytest.mark.parametrize("front_end", sorted(FRONT_ENDS))
def test_compare_output_reads_at_a_projectors_width(front_end, tmp_path):
    module, page = FRONT_ENDS[front_end]
    write_notebook(tmp_path / "compare.ipynb")
    with jupyter_server(module, tmp_path) as (port, token), \
            headless_chromium(f"{WIDTH},900") as driver:
        driver.get(f"http://127.0.0.1:{port}/{page}/compare.ipynb?token={token}")
        status = lambda: driver.execute_script(  # noqa: E731
            "const e = document.querySelector('.jp-Notebook-ExecutionIndicator');"
            "return e ? e.getAttribute('data-status') : null;")
        wait_for(lambda: status() == "idle", 120, lambda: f"kernel never idle ({status()})")
        time.sleep(1.0)
        driver.find_element(By.CSS_SELECTOR, ".jp-Cell .cm-content").click()
        ActionChains(driver).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()

        def finished():
            found = driver.execute_script("return " + "(() => {" + LAYOUT + "})()")
            done = (found and found["table"] and found["summary"] and len(found["images"]) >= 2
                    and all(i["natural"] > 0 for i in found["images"]))
            return found if done and status() == "idle" else None

        layout = wait_for(finished, 150, lambda: f"the cell's output never completed: "
                                                 f"{driver.execute_script('return (() => {' + LAYOUT + '})()')}")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / f"{front_end}-compare.png"))
    assert layout["broken"] == [], f"words broken across lines: {layout['broken']}"
    assert layout["cells"] == [], f"table cells whose text wraps or spills: {layout['cells']}"
    assert len(layout["images"]) == 2, layout["images"]  # the chart and the timelines
    for image in layout["images"]:  # scaled to the output's width at most by a fifth: readable
        assert image["shown"] >= 0.8 * image["natural"], (image, layout["width"])
