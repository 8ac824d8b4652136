"""A real browser for the picture tests: Debian's Chromium, headless, driven by its own command-line
switches (no WebDriver, no new Python package).

`check_page` loads a page with a small measuring script added, lets Chromium run it
(`--dump-dom` prints the page after its scripts ran) and returns what the script measured in the
laid-out page: every SVG text label's bounding box against every other label's, against the box
(`g.box > rect.b`) it belongs to and against its picture; and every error the page raised
(uncaught exceptions, console.error, and Chromium's own console log on stderr).
"""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = Path(os.environ.get("CNNCALC_SCREENSHOTS", ROOT / "build" / "screenshots"))
# CI sets this (.ci/run installs Chromium): a missing browser is then a failure, not a skip.
REQUIRE = "CNNCALC_REQUIRE_BROWSER"

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
          "--disable-extensions", "--disable-background-networking", "--mute-audio",
          "--font-render-hinting=none", "--force-device-scale-factor=1"]

# Runs first: records errors the page raises from then on.
_CAPTURE = """<script>window.__errors=[];
window.addEventListener('error',function(e){window.__errors.push('error: '+e.message);});
(function(){var f=console.error;console.error=function(){window.__errors.push('console.error: '+
Array.prototype.join.call(arguments,' '));f.apply(console,arguments);};})();</script>"""

# Runs last: measures every SVG text label in the laid-out page.
_MEASURE = """<script>
(function(){
  var T=0.75;  // px of anti-aliasing slack on each side
  var texts=Array.prototype.slice.call(document.querySelectorAll('svg text'));
  var svgs=Array.prototype.slice.call(document.querySelectorAll('svg'));
  var items=texts.map(function(t,i){var r=t.getBoundingClientRect();
    return {i:i,l:r.left,r:r.right,t:r.top,b:r.bottom,s:t.textContent,g:svgs.indexOf(t.ownerSVGElement)};});
  var overlaps=[],escaped=[],outside=[];
  // Labels of one picture against each other (pictures in scrolled panes may overlap on the page).
  var byLeft=items.slice().sort(function(a,b){return a.g-b.g||a.l-b.l;});
  for(var a=0;a<byLeft.length;a++){var p=byLeft[a];
    for(var c=a+1;c<byLeft.length&&byLeft[c].g===p.g&&byLeft[c].l<p.r-T;c++){var q=byLeft[c];
      if(Math.min(p.b,q.b)-Math.max(p.t,q.t)>T&&Math.min(p.r,q.r)-Math.max(p.l,q.l)>T)
        overlaps.push([p.s,q.s]);}}
  texts.forEach(function(t,i){var m=items[i];
    var g=t.closest('g.box');
    if(g){var rect=g.querySelector(':scope > rect.b').getBoundingClientRect();
      if(m.l<rect.left-T||m.r>rect.right+T||m.t<rect.top-T||m.b>rect.bottom+T)
        escaped.push(m.s);}
    var s=t.ownerSVGElement.getBoundingClientRect();
    if(m.l<s.left-T||m.r>s.right+T||m.t<s.top-T||m.b>s.bottom+T)outside.push(m.s);});
  var out=document.createElement('pre');out.id='cnncalc-check';
  out.textContent=JSON.stringify({texts:texts.length,svgs:document.querySelectorAll('svg').length,
    overlaps:overlaps.slice(0,20),overlap_count:overlaps.length,escaped:escaped.slice(0,20),
    outside:outside.slice(0,20),errors:window.__errors,extra:window.__extra||null});
  document.body.appendChild(out);
})();
</script>"""


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def as_page(svg_or_html: str) -> str:
    """A full HTML page: an HTML document as it is, an SVG inside a minimal page."""
    if svg_or_html.lstrip().lower().startswith("<!doctype html"):
        return svg_or_html
    return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body style="margin:0">'
            f"{svg_or_html}</body></html>")


def _run(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([chromium() or "chromium", *_FLAGS, *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "HOME": os.environ.get("HOME", "/tmp")})


def check_page(page: str, work: Path, name: str, script: str = "") -> dict:
    """Load `page` (HTML) in Chromium and return the measurements of _MEASURE; `script` runs before
    them (after the page's own) and may leave a JSON-able result in `window.__extra`."""
    text = page.replace("<head>", "<head>" + _CAPTURE, 1)
    tail = (f"<script>{script}</script>" if script else "") + _MEASURE
    text = text.replace("</body>", tail + "</body>", 1) if "</body>" in text else text + tail
    path = work / f"{name}.check.html"
    path.write_text(text, encoding="utf-8")
    done = _run(["--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--dump-dom", path.as_uri()])
    found = re.search(r'<pre id="cnncalc-check">(.*?)</pre>', done.stdout, re.S)
    assert found, f"the page did not run its check: {done.stderr[-2000:]}"
    result = json.loads(html.unescape(found.group(1)))
    # Chromium writes the page's console messages to its log: an error there counts too.
    result["errors"] += [line for line in done.stderr.splitlines() if ":CONSOLE(" in line and "ERROR" in line]
    return result


def screenshot(page: str, out: Path, width: int, height: int) -> Path:
    """A PNG of the page's first `height` pixels at `width`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)  # a screenshot left by an earlier run must not pass for this one
    src = out.with_suffix(".html")
    src.write_text(page, encoding="utf-8")
    _run([f"--screenshot={out}", f"--window-size={width},{height}", "--virtual-time-budget=2000", src.as_uri()])
    assert out.exists() and out.stat().st_size > 1000, f"no screenshot written to {out}"
    return out


def svg_size(svg: str) -> tuple[int, int]:
    found = re.search(r'<svg[^>]* width="([\d.]+)" height="([\d.]+)"', svg)
    assert found, "an SVG without width and height"
    return int(float(found.group(1))) + 1, int(float(found.group(2))) + 1
