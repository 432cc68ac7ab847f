"""The side-by-side page of two students' similar solutions (:mod:`dlgrader.similarity`).

Function by function, each student's own code (the template of the release left out) with
the code the two share highlighted: the spans copydetect matched (template and class-wide
common code are not matched, so they stay plain). Student code and names are hostile text:
everything is escaped with :func:`html.escape`, and the page's Content-Security-Policy allows
no script, no request and no form, should anything slip through.
"""

from __future__ import annotations

from html import escape

__all__ = ["highlight", "render"]

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table.scores { border-collapse: collapse; margin-bottom: 1em; }
table.scores td, table.scores th { border: 1px solid #bbb; padding: 0.2em 0.6em; }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
pre { background: #f6f6f6; border: 1px solid #ddd; padding: 0.6em; overflow-x: auto;
      white-space: pre-wrap; word-break: break-all; font-size: 0.9em; }
mark { background: #ffd27f; }
.note { color: #555; font-size: 0.9em; }
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'"


def highlight(code: str, spans) -> str:
    """``code`` as escaped HTML with the character ``spans`` ((starts, ends) as copydetect
    returns them) in ``<mark>``; overlapping spans are merged."""
    merged: list[list[int]] = []
    if len(spans) == 2:
        for start, end in sorted(zip(spans[0], spans[1], strict=True)):
            start, end = max(0, int(start)), min(len(code), int(end))
            if start >= end:
                continue
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
    out, at = [], 0
    for start, end in merged:
        out += [escape(code[at:start]), "<mark>", escape(code[start:end]), "</mark>"]
        at = end
    return "".join(out + [escape(code[at:])])


def render(pair, prints: dict[str, dict], settings) -> str:
    """The page of ``pair`` (a :class:`dlgrader.similarity.Pair`); ``prints``: function name
    -> student -> copydetect fingerprint."""
    import copydetect

    a, b = escape(pair.a), escape(pair.b)
    title = f"{escape(pair.assignment)}: {a} and {b}, score {pair.score:.2f}"
    rows = "".join(f"<tr><td>{escape(name)}</td><td>{pair.function_score(name):.2f}</td>"
                   f"<td>{ta:.0f}</td><td>{tb:.0f}</td></tr>"
                   for name, (_, _, ta, tb) in pair.functions.items())
    sections = []
    for name in pair.functions:
        fa, fb = prints[name][pair.a], prints[name][pair.b]
        _, _, (spans_a, spans_b) = copydetect.compare_files(fa, fb)
        sections.append(
            f"<h2>{escape(name)}: {pair.function_score(name):.2f}</h2>"
            f'<div class="side"><div><h3>{a}</h3><pre>{highlight(fa.raw_code, spans_a)}</pre>'
            f"</div><div><h3>{b}</h3><pre>{highlight(fb.raw_code, spans_b)}</pre></div></div>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>{title}</title><style>{STYLE}</style></head><body>
<h1>{title}</h1>
<p class="note">Score: shared tokens over compared tokens of both solutions (1 = the same code
up to names, comments and spacing), over the functions both students attempted. Shown: what
each student wrote, without the lines of the released template; highlighted: the code they
share (matches of at least {settings.noise} tokens; the template and code found in more than
{settings.common_share:.0%} of a class of {settings.min_class} or more are never highlighted).
A high score is a reason to read both solutions, not a verdict.</p>
<table class="scores"><tr><th>function</th><th>score</th><th>tokens {a}</th>
<th>tokens {b}</th></tr>{rows}</table>
{"".join(sections)}
</body></html>
"""
