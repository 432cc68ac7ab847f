"""JupyterLab's Validate button, answered with the report card of ``./course check``.

nbgrader 0.9.6's labextension (the notebook toolbar's Validate, and the Assignment List's) saves
the notebook, POSTs its path to ``/assignments/validate`` and shows the JSON answer
``{"success": true, "value": {...}}`` in its "Validation Results" dialog: ``value: {}`` as
"Success! Your notebook passes all the tests."; ``value.failed``, a list of ``{"source",
"error"}``, as "The following cell failed:", the source (text) and the error (HTML) of each.
nbgrader's own handler fills that list with every failing test cell's whole source and
traceback, and says "Success!" for a lecture companion whose exercises are not attempted yet
(companions have no test cells).

This server extension answers the same URL (and ``/nbgrader_version``, the button's version
check) from :func:`dlutils.notebook_check.check_notebook`, run in a worker thread so that the
server stays responsive: success as before when everything passes; otherwise one ``failed``
entry whose HTML is the report card (a headline, a row per graded function or exercise with
points, then each failure's message and hint, changed or deleted cells, other problems), with a
style that hides the entry's fixed heading and empty source, so that the dialog starts with the
summary. No labextension is built or changed.

The student's JupyterLab (``./course lab``) enables it in place of nbgrader's
``validate_assignment`` through ``dlutils/student_config/jupyter_server_config.json``; it would
win anyway if both were on (extensions load in alphabetical order, and tornado serves a URL
from the first handler added for it).
"""

from __future__ import annotations

import asyncio
import html
import json
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import notebook_check as nc

__all__ = ["CELL_TIMEOUT", "dialog_html", "dialog_value", "validate"]

CELL_TIMEOUT = 300  # seconds per cell; the demonstration runs go short under validation
# Validations run here, off the server's event loop. Not asyncio.to_thread: it copies the
# server's context, whose current event loop (jupyter_core's) nbclient would then try to run.
_WORKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="nndl-validate")
REPORT_CLASS = "nndl-report"
MARK = {nc.PASSED: "✓", nc.CORRECT: "✓", nc.FAILED: "✗", nc.WRONG: "✗", nc.NOT_RUN: "✗",
        nc.TODO: "○"}
TONE = {nc.PASSED: "ok", nc.CORRECT: "ok", nc.FAILED: "bad", nc.WRONG: "bad", nc.NOT_RUN: "bad",
        nc.TODO: "todo"}
# nbgrader's dialog puts "The following cell failed:" and the entry's source (empty here) before
# the error HTML: hidden, so that the dialog's text starts with our headline. The style lives
# in the dialog only while it is open.
STYLE = " ".join(f"""
#validation-message > div:nth-child(-n+2) {{display: none}}
#validation-message > div:nth-child(3) > pre {{border: 0; margin: 0; padding: 0;
  white-space: normal; font-family: var(--jp-ui-font-family)}}
.{REPORT_CLASS} p {{margin: 0.75em 0 0.25em; padding: 0}}
.{REPORT_CLASS} table {{border-collapse: collapse; margin: 0.5em 0}}
.{REPORT_CLASS} td {{padding: 1px 14px 1px 0; text-align: left; vertical-align: top}}
.{REPORT_CLASS} .message {{white-space: pre-wrap; font-family: var(--jp-code-font-family);
  font-size: var(--jp-code-font-size); border: solid var(--jp-border-color2) 1px;
  padding: 5px; margin: 0.25em 0 0.5em}}
.{REPORT_CLASS} .ok {{color: var(--jp-success-color1, #388e3c)}}
.{REPORT_CLASS} .bad {{color: var(--jp-error-color1, #d32f2f)}}
.{REPORT_CLASS} .todo, .{REPORT_CLASS} .footer {{color: var(--jp-ui-font-color2, #757575)}}
""".split())


def dialog_html(report: nc.NotebookReport) -> str:
    """The report card as the dialog shows it (HTML; every text escaped)."""
    e = html.escape
    parts = [f"<style>{STYLE}</style><div class=\"{REPORT_CLASS}\">",
             f"<p class=\"headline\"><b>{e(report.path.name)}</b>: {e(nc.headline(report))}</p>"]
    rows = nc.summary_rows(report)
    if rows:
        parts.append("<table>")
        for status, name, detail, points in rows:
            parts.append(f"<tr class=\"{TONE[status]}\"><td>{MARK[status]}</td>"
                         f"<td><b>{e(name)}</b></td><td>{e(detail)}</td><td>{e(points)}</td></tr>")
        parts.append("</table>")
    for title, message in nc.failure_items(report):
        parts.append(f"<p><b>{e(title)}</b></p><div class=\"message\">{e(message)}</div>")
    footer = nc.FOOTER["functions" if report.functions or not report.exercises else "exercises"]
    parts.append(f"<p class=\"footer\">{e(footer)}</p></div>")
    return "".join(parts)


def dialog_value(report: nc.NotebookReport) -> dict:
    """The ``value`` nbgrader's dialog renders: {} (its "Success!") when nothing is left to do,
    else one ``failed`` entry holding the whole report card."""
    if report.ok:
        return {}
    return {"failed": [{"source": "", "error": dialog_html(report)}]}


def validate(path: Path, timeout: int = CELL_TIMEOUT) -> dict:
    """The JSON answer to the Validate button for the notebook at ``path``."""
    path = Path(path)
    if not path.is_file():
        return {"success": False, "value": f"There is no notebook {path.name} here (was it "
                                            "renamed or moved?)."}
    try:
        report = nc.check_notebook(path, timeout)
    except Exception:  # the checker itself failed: show why, as nbgrader's handler does
        return {"success": False, "value": traceback.format_exc()}
    unreadable = [p for p in report.problems if p.startswith("cannot read")]
    if unreadable:
        return {"success": False, "value": f"{path.name}: {unreadable[0]}"}
    return {"success": True, "value": dialog_value(report)}


# --- the jupyter_server extension -------------------------------------------------------------

def _handlers(root_dir: str) -> list[tuple]:
    from jupyter_server.base.handlers import JupyterHandler
    from tornado import web

    class ValidateHandler(JupyterHandler):
        """POST /assignments/validate, ``path`` as a query argument (the notebook toolbar) or
        in a JSON body (the Assignment List), relative to the server's root."""

        @web.authenticated
        async def post(self):
            try:
                path = self.get_argument("path")
            except web.MissingArgumentError:
                path = (self.get_json_body() or {}).get("path")
            if not path:
                raise web.HTTPError(400, "no notebook path")
            root = Path(root_dir).resolve()
            target = (root / path).resolve()
            if not target.is_relative_to(root):
                raise web.HTTPError(403, "Access denied: path outside allowed directory")
            self.log.info("Validating %s (dlutils.validate_server)", target)
            answer = await asyncio.get_running_loop().run_in_executor(_WORKERS, validate,
                                                                      target)
            self.finish(json.dumps(answer))

    try:
        from nbgrader.server_extensions.validate_assignment.handlers import (
            NbGraderVersionHandler,
        )
    except ImportError:  # nbgrader's labextension is not there either
        return [("assignments/validate", ValidateHandler)]
    return [("assignments/validate", ValidateHandler), ("nbgrader_version", NbGraderVersionHandler)]


def _jupyter_server_extension_points():
    return [{"module": "dlutils.validate_server"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from jupyter_server.utils import url_path_join

    web_app = serverapp.web_app
    base_url = web_app.settings["base_url"]
    web_app.add_handlers(".*$", [(url_path_join(base_url, pattern), handler)
                                 for pattern, handler in _handlers(serverapp.root_dir)])
    serverapp.log.info("dlutils.validate_server: Validate shows the course's report card")


load_jupyter_server_extension = _load_jupyter_server_extension
