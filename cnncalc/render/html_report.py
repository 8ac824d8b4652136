"""One self-contained HTML page: no network access, no external font, style sheet or script.

`render_report` is `cnncalc report`: totals, the four pictures, the layer table (sortable and
filterable by a small inline script, so it stays usable at thousands of layers), the worked
solution per layer (collapsed) and the receptive-field derivation of one layer. `render_table_html`
is `--format html` of params, rf and summary: the same table and totals on a page of their own."""
from __future__ import annotations

from html import escape

from .. import __version__
from ..i18n import _, current_language, tr
from ..records import Analysis, TopDown
from .analysis_view import _step_rows, _totals_lines
from .columns import VIEWS, pair_text, shape_text
from .explain_view import field_label, kind_label, select

CSS = """
body{font-family:DejaVu Sans,Verdana,Arial,sans-serif;margin:0 auto;max-width:1200px;padding:0 20px 40px;
color:#1f2933;background:#fff;line-height:1.45}
h1{font-size:24px;margin:24px 0 4px}h2{font-size:19px;margin:32px 0 10px;border-bottom:1px solid #d9e2ec}
.meta{color:#52606d;margin:0}
nav a{margin-right:14px;color:#0b69a3}
table{border-collapse:collapse;font-size:13px}
th,td{padding:3px 10px;border-bottom:1px solid #e4e7eb;text-align:left;white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
#layers th{cursor:pointer;user-select:none;background:#f5f7fa;position:sticky;top:0}
#layers th[aria-sort=ascending]::after{content:" ▲"}#layers th[aria-sort=descending]::after{content:" ▼"}
.tablewrap{max-height:70vh;overflow:auto;border:1px solid #d9e2ec}
figure{margin:0 0 24px}figcaption{font-weight:bold;margin-bottom:6px}
.picture{overflow:auto;max-height:80vh;border:1px solid #d9e2ec}
.picture svg{display:block}
details{margin:2px 0}summary{cursor:pointer}
details pre{margin:4px 0 8px 18px;white-space:pre-wrap;font-size:13px}
#filter{font-size:14px;padding:4px 8px;width:260px}
.note{color:#8d2b0b}
"""

# Sorting (click a header; numbers by value) and filtering by name, in plain DOM code.
SCRIPT = """
(function(){
  var table=document.getElementById('layer-table');if(!table)return;
  var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows);
  var filter=document.getElementById('filter'),count=document.getElementById('shown');
  function show(){var q=filter.value.toLowerCase(),n=0;
    rows.forEach(function(r){var hit=r.cells[0].textContent.toLowerCase().indexOf(q)>=0;
      r.hidden=!hit;if(hit)n++;});count.textContent=n+' / '+rows.length;}
  filter.addEventListener('input',show);
  // A number, or the first number of a pair (2×4); a dash (not defined) sorts first.
  function key(cell){var v=parseFloat(cell.dataset.v);return isNaN(v)?-Infinity:v;}
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,col){
    th.addEventListener('click',function(){
      var up=th.getAttribute('aria-sort')!=='ascending',num=th.classList.contains('n');
      Array.prototype.forEach.call(table.tHead.rows[0].cells,function(h){h.removeAttribute('aria-sort');});
      th.setAttribute('aria-sort',up?'ascending':'descending');
      rows.sort(function(a,b){var x=a.cells[col],y=b.cells[col],d;
        if(num){d=key(x)-key(y);}
        else{d=x.textContent<y.textContent?-1:x.textContent>y.textContent?1:0;}
        return d===0?Number(a.dataset.i)-Number(b.dataset.i):up?d:-d;});  // ties keep table order
      rows.forEach(function(r){body.appendChild(r);});});});
  show();
})();
"""


def _page(title: str, body: list[str], script: bool) -> str:
    lang = "zh" if current_language() == "zh" else "en"
    parts = [f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>", *body]
    if script:
        parts.append(f"<script>{SCRIPT}</script>")
    parts.append("</body>\n</html>\n")
    return "\n".join(parts)


def _header(a: Analysis) -> list[str]:
    meta = _("input {shape} · {layers} layers · made by cnncalc {version}").format(
        shape=shape_text(a.input), layers=f"{len(a.layers):,}", version=__version__)
    out = [f"<h1>{escape(a.name)}</h1>"]
    if a.description:
        out.append(f'<p class="meta">{escape(a.description)}</p>')
    out.append(f'<p class="meta">{escape(meta)}</p>')
    return out


def _totals(a: Analysis) -> list[str]:
    rows = "".join(f'<tr><td>{escape(k)}</td><td class="n">{escape(v)}</td></tr>' for k, v in _totals_lines(a))
    notes = "".join(f'<p class="note">{escape(_("note: {note}").format(note=tr(w)))}</p>' for w in a.warnings)
    return [f'<h2 id="totals">{escape(_("Totals"))}</h2>', f'<table class="totals">{rows}</table>', notes]


def _layer_table(a: Analysis, view: str) -> list[str]:
    columns = VIEWS[view]
    # The RF cell is text ("32 (global)"); it sorts by its height, an undefined field first.
    sort_keys = {"rf": lambda r: r.rf.size[0] if r.rf.size[0] is not None else -1}
    head = "".join(f'<th class="n" scope="col">{escape(_(c.header))}</th>' if c.numeric or c.key in sort_keys
                   else f'<th scope="col">{escape(_(c.header))}</th>' for c in columns)
    body = []
    for i, r in enumerate(a.layers):
        cells = []
        for c in columns:
            text = escape(c.text(r))
            if c.key in sort_keys:
                cells.append(f'<td class="n" data-v="{sort_keys[c.key](r)}">{text}</td>')
            else:
                cells.append(f'<td class="n" data-v="{c.raw(r)}">{text}</td>' if c.numeric else f"<td>{text}</td>")
        body.append(f'<tr data-i="{i}">' + "".join(cells) + "</tr>")
    label = escape(_("Filter by name"))
    return [f'<h2 id="layer-list">{escape(_("Layers"))}</h2>',
            f'<p><input id="filter" type="search" placeholder="{label}" aria-label="{label}"> '
            f'<span id="shown"></span></p>',
            f'<div class="tablewrap"><table id="layer-table"><thead><tr>{head}</tr></thead><tbody>',
            "\n".join(body), "</tbody></table></div>"]


def _explain(a: Analysis, view: str, explain: dict[str, dict[str, str]]) -> list[str]:
    out = [f'<h2 id="explain">{escape(_("Worked solution (formula = value, per layer)"))}</h2>']
    for r in a.layers:
        fields = select(explain.get(r.name, {}), view)
        lines = [f"{field_label(f)}: {text}" for f, text in fields.items()]
        lines += [_("note: {note}").format(note=tr(n)) for n in r.notes]
        out.append(f"<details><summary>{escape(r.name)} ({escape(kind_label(r.type))})</summary>"
                   f"<pre>{escape(chr(10).join(lines))}</pre></details>")
    return out


def _top_down(td: TopDown) -> list[str]:
    title = _("Receptive field of {layer}: {size}").format(layer=td.layer, size=pair_text(td.size))
    out = [f'<h2 id="rf">{escape(title)}</h2>']
    if td.is_global:
        text = _("{layer} sees its whole input, so its field is the whole input: {size} (global)").format(
            layer=td.layer, size=pair_text(td.size))
        return out + [f"<p>{escape(text)}</p>"]
    out.append("<p>" + escape(_("Receptive field of {layer}, top-down: RF_L = k_L, then RF_i = (RF_i+1 − 1)·s_i + "
                                 "k_i").format(layer=td.layer)) + "</p>")
    walks = [("", td.steps)] if not td.per_axis else list(zip(("H", "W"), td.per_axis))
    for axis, steps in walks:
        if axis:
            out.append(f"<p>{axis}</p>")
        rows = "".join(f'<tr><td class="n">{i}</td><td>{escape(l)}</td><td>{escape(f)}</td><td class="n">'
                       f"{escape(s)}</td></tr>" for i, (l, f, s) in enumerate(_step_rows(steps), 1))
        out.append(f'<table><thead><tr><th class="n">step</th><th>{escape(_("layer"))}</th>'
                   f'<th>RF = (RF_next − 1)·s + k</th><th class="n">RF</th></tr></thead><tbody>{rows}</tbody></table>')
    return out


def render_table_html(a: Analysis, view: str, explain: dict[str, dict[str, str]] | None = None) -> str:
    """`--format html`: the view's table and the totals (and the worked solution) as one page."""
    body = _header(a) + _layer_table(a, view) + _totals(a)
    if explain is not None:
        body += _explain(a, view, explain)
    return _page(f"{a.name} · cnncalc {view}", body, script=True)


def render_top_down_html(td: TopDown) -> str:
    return _page(f"{td.layer} · cnncalc rf", _top_down(td), script=False)


def render_report(a: Analysis, pictures: list[tuple[str, str]], explain: dict[str, dict[str, str]],
                  top_down: TopDown | None) -> str:
    """`pictures`: (caption, SVG text) in order."""
    links = [("totals", _("Totals")), ("pictures", _("Pictures")), ("layer-list", _("Layers")),
             ("rf", _("Receptive field")), ("explain", _("Worked solution"))]
    nav = "<nav>" + "".join(f'<a href="#{k}">{escape(t)}</a>' for k, t in links
                            if k != "rf" or top_down is not None) + "</nav>"
    body = _header(a) + [nav] + _totals(a)
    body.append(f'<h2 id="pictures">{escape(_("Pictures"))}</h2>')
    for caption, svg in pictures:
        body.append(f'<figure><figcaption>{escape(caption)}</figcaption><div class="picture">{svg}</div></figure>')
    body += _layer_table(a, "summary")
    if top_down is not None:
        body += _top_down(top_down)
    body += _explain(a, "summary", explain)
    return _page(f"{a.name} · cnncalc report", body, script=True)


def render_notebook_html(a: Analysis, svg: str) -> str:
    """`Network._repr_html_`: a fragment for a notebook cell (no page, no script, scoped style)."""
    rows = "\n".join(_layer_table(a, "summary")[2:])  # the table without its heading and filter box
    totals = "".join(f'<tr><td>{escape(k)}</td><td style="text-align:right">{escape(v)}</td></tr>'
                     for k, v in _totals_lines(a))
    return (f'<div class="cnncalc"><p><b>{escape(a.name)}</b> · {escape(shape_text(a.input))}</p>'
            f'<div style="max-height:400px;overflow:auto">{rows}</div>'
            f"<table>{totals}</table><div style=\"overflow:auto\">{svg}</div></div>")
