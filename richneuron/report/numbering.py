"""The paper's figures and tables: each numbered and captioned in order (`number_figures`,
`number_tables`, a raw table's headers and cells as a reader says them), and the text's
`[[ref:ID]]` references resolved to links with those numbers (`resolve_refs`, `shown_here`)."""
import html
import re

import nbformat

from .. import notebook as nbk, stats

def table_figure(table_html, caption, name):
    """A table as the paper shows it: in a captioned <figure> whose number `number_tables` sets."""
    return (f'<figure class="rn-table" id="tab-{name}"><figcaption><b>Table ?.</b> {html.escape(caption)}'
            f"</figcaption>\n{table_html}</figure>")


# Column names as a reader says them: a table's raw headers (snake_case identifiers) are spelled out.
HEADERS = {"p_holm": "Holm p", "p": "p", "n": "n", "lr": "learning rate", "ci_low": "95% interval, low",
           "ci_high": "95% interval, high", "low": "95% interval, low", "high": "95% interval, high",
           "meta_lr_scale": "meta learning-rate factor", "best_gap": "best gap", "data_seed": "data seed"}
WORDS = {"holm": "Holm", "ci": "interval", "mse": "MSE", "lr": "learning rate", "gm": "geometric mean",
         "sd": "SD", "std": "SD", "pp": "pp", "ood": "OOD", "acc": "accuracy", "n": "n", "p": "p",
         "lo": "low", "hi": "high", "num": "number", "pct": "%"}
NUMBER_CELL = re.compile(r"-?\d+\.\d{4,}|-?\d\.\d{3,}e[+-]?\d+")   # more digits than they resolve


def human_header(name):
    """A raw column name as words ("p_holm" -> "Holm p", "best_gap" -> "best gap"); other headers
    stay as written."""
    name = str(name)
    if name in HEADERS:
        return HEADERS[name]
    if re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)+", name):
        return " ".join(WORDS.get(w, w) for w in name.split("_"))
    return name


def human_value(text):
    """A table cell as the paper shows it: yes/no for booleans, – for missing, long decimals at 3
    significant digits (`stats.fmt`)."""
    t = text.strip()
    if t in ("True", "False"):
        return "yes" if t == "True" else "no"
    if t in ("None", "nan", "NaN", "<NA>", "NaT"):
        return "–"
    if NUMBER_CELL.fullmatch(t):
        return stats.fmt(float(t))
    return text


def _plain(md):
    """Markdown or HTML as one line of plain text (a heading's #s, emphasis, code marks and links dropped)."""
    text = re.sub(r"<[^>]+>", " ", md)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"^#+\s*", "", text.strip())
    text = re.sub(r"\*+|`+|(?<!\w)_+|_+(?!\w)", "", text)          # not the _ inside a name
    return " ".join(text.split())


def _join(*parts):
    """Caption parts as sentences ("Ranks: is there a best?" + "Rank 1 ..." without "?.")."""
    out = ""
    for p in (p.strip() for p in parts):
        if p:
            out += (p if not out else (" " if out[-1] in ".?!" else ". ") + p)
    return re.sub(r":$", ".", out)


def _first_sentence(md):
    """A markdown cell's heading (if any) and its first sentence, as plain text: a table's caption."""
    lines = md.strip().splitlines()
    heading = next((_plain(l) for l in lines if l.startswith("#")), "")
    body = _plain(" ".join(l for l in lines if not l.startswith("#") and not l.lstrip().startswith("|")))
    m = re.match(r"(.+?[.:!?])(\s|$)", body)
    sentence = m.group(1) if m else body
    return _join(heading, sentence)


def number_tables(cells, label=""):
    """Number every table of `cells` in order ("Table 1." ..., or "Table A3.1." with label "A3."),
    in place: a generated table (`table_figure`) keeps its caption; any other table shown by a
    cell is put in a captioned figure whose caption is the text the notebook wrote before it
    (its heading and first sentence), its raw headers spelled out, booleans as yes/no, missing
    values as –, long decimals rounded (`human_header`, `human_value`). A markdown output (a
    notebook's `say`) is converted to HTML first, so its tables are numbered too. Returns the count."""
    from bs4 import BeautifulSoup
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    n, context, seen, heading = 0, "", {}, ""
    for c in cells:
        if c.cell_type == "markdown":
            heading = next((_plain(l) for l in c.source.splitlines() if l.startswith("#")), heading)
            context = _first_sentence(c.source) or context
            continue
        if c.cell_type != "code":
            continue
        for o in c.get("outputs", []):
            if o.output_type not in ("display_data", "execute_result"):
                continue
            data = o.get("data", {})
            if "text/markdown" in data and "text/html" not in data:
                md = data["text/markdown"]
                o.data = nbformat.from_dict({"text/html": markdown2html_mistune(md), "text/plain": data.get("text/plain", "")})
                data = o.data
                before = _first_sentence(md.split("\n|")[0])
                if len(before.split()) >= 5:                   # a sentence, not a label ("Models:")
                    context = before if not heading or before.startswith(heading) else _join(heading, before)
                if "<table" not in data["text/html"]:
                    continue
            text = data.get("text/html", "")
            if "<table" not in text:
                continue
            soup = BeautifulSoup(text, "html.parser")
            for table in soup.find_all("table"):
                n += 1
                number = f"{label}{n}"
                fig = table.find_parent("figure", class_="rn-table")
                if fig is None:
                    seen[context] = seen.get(context, 0) + 1
                    caption = context or "(no caption given)"
                    caption += "" if seen[context] == 1 else f" (table {seen[context]} of this part)"
                    fig = BeautifulSoup(table_figure("", caption, number.replace(".", "-")), "html.parser").figure
                    table.replace_with(fig)
                    fig.append(table)
                    for th in table.find_all("th"):
                        if th.string:
                            th.string = human_header(th.string.strip())
                    for td in table.find_all("td"):
                        if td.string:
                            td.string = human_value(td.string)
                fig.figcaption.b.string = f"Table {number}."
            o.data["text/html"] = str(soup)
    return n


def number_figures(cells, label=""):
    """Number the paper's figures in order ("Figure 1." ..., or "Figure A3.1." with label "A3.")
    across all notebooks, in place: a figure shown by `Setup.save` keeps its caption (also its alt
    text); a bare PNG output (a figure shown without `cfg.save`) becomes a numbered figure with an
    empty caption. Returns the count."""
    n = 0
    for c in cells:
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            if o.output_type not in ("display_data", "execute_result"):
                continue
            meta = o.get("metadata", {}).get(nbk.FIGURE_KEY)
            if meta:
                png = re.search(r'src="data:image/png;base64,([^"]+)"', o.data["text/html"])[1]
            elif "image/png" in o.data:
                png, meta = "".join(o.data["image/png"].split()), {"name": "", "caption": "", "width": None}
            else:
                continue
            n += 1
            name = meta["name"] or f"{label}{n}".replace(".", "-")
            data, metadata = nbk.figure_output(png, meta["caption"], f"{label}{n}", name, meta.get("width"))
            o.data, o.metadata = nbformat.from_dict(data), nbformat.from_dict({**o.get("metadata", {}), **metadata})
    return n


FLOAT_ID = re.compile(r'<figure class="rn-(figure|table)"[^>]*\bid="([^"]+)"[^>]*>\s*(?:<img[^>]*>\s*)?'
                      r'<figcaption><b>(?:Figure|Table) ([^<]+)\.</b>', re.S)


def floats(cells):
    """The figures and tables shown by `cells`, in order: [(kind, id, number)]."""
    out = []
    for c in cells:
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            out += FLOAT_ID.findall(o.get("data", {}).get("text/html", ""))
    return out


def _ref(kind, fid, number):
    return f"[{'Figure' if kind == 'figure' else 'Table'} {number}](#{fid})"


def resolve_refs(cells):
    """Replace every `[[ref:ID]]` in markdown cells by a link to that figure or table with its number
    ("[Figure 3](#fig-…)"); a reference to a figure the page does not show is dropped."""
    refs = {fid: _ref(kind, fid, number) for kind, fid, number in floats(cells)}
    for c in cells:
        if c.cell_type == "markdown" and "[[ref:" in c.source:
            c.source = re.sub(r"\s*\(?\[\[ref:([^\]]+)\]\]\)?", lambda m: (" (" + refs[m[1]] + ")") if m[1] in refs else "",
                              c.source)


def shown_here(cells, what="This section shows", cited=()):
    """A sentence referring to every figure and table of `cells` (a section or an appendix) that
    the text does not cite already (`cited`: their ids)."""
    items = [f for f in floats(cells) if f[1] not in cited]
    if not items:
        return ""
    figs = [_ref(*f) for f in items if f[0] == "figure"]
    tabs = [_ref(*f) for f in items if f[0] == "table"]
    return f"{what} " + " and ".join(p for p in (", ".join(figs), ", ".join(tabs)) if p) + "."
