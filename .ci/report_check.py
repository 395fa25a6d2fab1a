#!/usr/bin/env python3
"""Open a MultiQC report in headless Chromium as a first-time reader would, and check what they see.

    python3 .ci/report_check.py out/multiqc/Pituitary/multiqc_report.html [--screenshot first_screen.png]

At 1,280 x 800 px (a laptop screen) it asserts that the verdict section starts within the first
screen, that no section's content is wider than the section (no table cut off behind a scroll
bar) and that the page has no horizontal scroll; with --verdict-starts, that the verdict's bottom
line starts with the given text, and with --section (repeatable), that the page holds an element
whose id starts with it (a section of the report, e.g. composition_control); it prints one `ok`
or `FAILED` line per check and a summary line, saves a screenshot of the first screen, and exits 1 when a check failed.

No browser download and no Python package beyond the standard library: it drives the system's
Chromium (`.ci/setup-chromium.sh`; $CHROMIUM names another binary) with `--dump-dom` on a copy of
the report that carries a small measuring script, and with `--screenshot`. The report's own
scripts run first (`--virtual-time-budget`), so the measure is of the rendered page, with the
MultiQC welcome banner as a fresh browser profile shows it.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WIDTH, HEIGHT = 1280, 800
VERDICT = "evaluation_verdict"
BUDGET_MS = 20_000
"""Virtual time for the report's scripts (decompressing and drawing every plot) before the measure."""

MEASURE = """
<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    var result = {width: window.innerWidth, height: window.innerHeight, sections: []};
    var root = document.documentElement;
    result.page = {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth};
    var verdict = document.getElementById("%(verdict)s");
    result.verdict_top = verdict ? verdict.getBoundingClientRect().top + window.scrollY : null;
    var lead = document.querySelector(".mqc-section-%(verdict)s p.lead");
    result.headline_bottom = lead ? lead.getBoundingClientRect().bottom + window.scrollY : null;
    result.headline = lead ? lead.textContent.trim() : null;
    result.anchors = Array.from(document.querySelectorAll("[id]")).map(function (element) { return element.id; });
    document.querySelectorAll("div.mqc-section").forEach(function (section) {
      var title = (section.parentElement.querySelector("h2, h3") || {}).textContent || section.id;
      // only what clips its content can cut a table off (a Bootstrap row's gutter pokes out harmlessly);
      // whatever pokes out of a section without being clipped widens the page, checked below
      var widest = {scrollWidth: 0, clientWidth: 0, what: "section"};
      [section].concat(Array.from(section.querySelectorAll("*"))).forEach(function (element) {
        var style = window.getComputedStyle(element);
        if (element.clientWidth === 0 || !/(auto|scroll|hidden)/.test(style.overflowX)) return;
        var over = element.scrollWidth - element.clientWidth;
        if (over > 1 && over > widest.scrollWidth - widest.clientWidth) {  // 1 px: sub-pixel rounding
          widest = {scrollWidth: element.scrollWidth, clientWidth: element.clientWidth,
                    what: element.tagName.toLowerCase() + "." + String(element.className).split(" ").join(".")};
        }
      });
      result.sections.push({id: section.id, title: title.trim(), widest: widest});
    });
    var out = document.createElement("pre");
    out.id = "report-check-result";
    out.textContent = JSON.stringify(result);
    document.body.appendChild(out);
  }, 2000);
});
</script>
"""


def chromium() -> str:
    """The Chromium binary: $CHROMIUM, else the first of the usual names on PATH."""
    named = os.environ.get("CHROMIUM")
    if named:
        return named
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("report_check: no Chromium found (run .ci/setup-chromium.sh, or set CHROMIUM)")


def browse(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Chromium, headless, on a fresh profile, at the reader's window size."""
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{HEIGHT}",
        f"--virtual-time-budget={BUDGET_MS}",
        *args,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def measure(report: Path, scratch: Path) -> dict:
    """The measuring script's result on a copy of the report (the report itself is left as it is)."""
    text = report.read_text(encoding="utf-8")
    script = MEASURE % {"verdict": VERDICT}
    copy = scratch / report.name
    end = text.rfind("</body>")  # the last one: the report's scripts may hold the string too
    copy.write_text(text[:end] + script + text[end:] if end >= 0 else text + script, encoding="utf-8")
    done = browse(copy, scratch / "profile-measure", "--dump-dom")
    found = re.search(r'<pre id="report-check-result">(.*?)</pre>', done.stdout, re.S)
    if not found:
        sys.exit(f"report_check: FAILED: no measure from Chromium (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(html.unescape(found.group(1)))


def checks(result: dict, verdict_starts: str | None = None, sections: tuple[str, ...] = ()) -> list[tuple[bool, str]]:
    """(passed, line) for every check."""
    lines = [(result["width"] == WIDTH, f"window {result['width']} px wide")]
    if verdict_starts is not None:
        headline = " ".join((result.get("headline") or "").split())
        lines.append((headline.startswith(verdict_starts), f"verdict's bottom line starts {headline[:90]!r}"))
    for prefix in sections:
        found = sorted({anchor for anchor in result.get("anchors", []) if anchor.startswith(prefix)})
        lines.append((bool(found), f"section(s) {prefix}*: {', '.join(found[:6]) or 'none'}"))
    top, bottom = result["verdict_top"], result["headline_bottom"]
    lines.append((top is not None and top < HEIGHT, f"verdict in the first {HEIGHT} px: its title's top at {top} px"))
    lines.append(
        (
            bottom is not None and bottom < HEIGHT,
            f"verdict's bottom line in the first {HEIGHT} px: its bottom at {bottom} px",
        )
    )
    page = result["page"]
    lines.append(
        (
            page["scrollWidth"] <= page["clientWidth"],
            f"no horizontal page scroll: page {page['scrollWidth']} px wide in {page['clientWidth']} px",
        )
    )
    for section in result["sections"]:
        widest = section["widest"]
        fits = widest["scrollWidth"] <= widest["clientWidth"] + 1
        detail = f" ({widest['what']}: {widest['scrollWidth']} px of content in {widest['clientWidth']} px)"
        if fits:
            detail = ""
        lines.append((fits, f"section '{section['title']}' fits{detail}"))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="multiqc_report.html")
    parser.add_argument("--screenshot", type=Path, help="PNG of the first screen [default: beside the report]")
    parser.add_argument("--verdict-starts", help="text the verdict's bottom line must start with")
    parser.add_argument("--section", action="append", default=[], help="id prefix of a section the report must hold")
    parser.add_argument("--contains", action="append", default=[], help="text the report's page must hold")
    options = parser.parse_args()
    report = options.report.resolve()
    screenshot = (options.screenshot or report.with_name("report_first_screen.png")).resolve()
    with tempfile.TemporaryDirectory(prefix="report_check.") as folder:
        scratch = Path(folder)
        result = measure(report, scratch)
        shot = browse(report, scratch / "profile-screenshot", f"--screenshot={screenshot}")
    lines = checks(result, options.verdict_starts, tuple(options.section))
    text = report.read_text(encoding="utf-8")
    lines += [(phrase in text, f"the report holds {phrase!r}") for phrase in options.contains]
    failed = [line for passed, line in lines if not passed]
    for passed, line in lines:
        print(f"{'ok' if passed else 'FAILED'}: {line}")
    if shot.returncode != 0 or not screenshot.is_file():
        failed.append("screenshot")
        print(f"FAILED: no screenshot ({shot.stderr[-500:]})")
    name = report.parent.name
    if failed:
        print(f"report_check {name}: FAILED ({len(failed)} of {len(lines)} checks); first screen: {screenshot}")
        sys.exit(1)
    print(f"report_check {name}: ok ({len(lines)} checks at {WIDTH} px wide); first screen: {screenshot}")


if __name__ == "__main__":
    main()
