"""The student's JupyterLab (``./course lab``, started from a course mirror as the browser tests
start it) answers the Validate button's URL with dlutils.validate_server, not nbgrader's
handler: the report card for an assignment, the exercises for a companion, nbgrader's version
check and its refusal of paths outside the workspace; the server keeps answering meanwhile."""

from __future__ import annotations

import html
import json
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from browser_helpers import course_mirror, jupyter_lab, require_fresh_setup

from dlutils import notebook_check as nc

A1 = "01_numpy_basics/numpy_basics.ipynb"
WEEK2 = "companions/week2_computation_graph_and_vectorisation.ipynb"


def _post(lab, path: str, *, json_body: bool = False, timeout: float = 600) -> tuple[int, dict]:
    """POST /assignments/validate as nbgrader's front end does: the notebook toolbar sends the
    path as a query argument, the Assignment List as a JSON body."""
    url = f"{lab.url}/assignments/validate"
    data = b""
    if json_body:
        data = json.dumps({"path": path}).encode()
    else:
        url += "?" + urllib.parse.urlencode({"path": path})
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Authorization": f"token {lab.token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {}


def _shown(answer: dict) -> str:
    error = answer["value"]["failed"][0]["error"]
    text = re.sub(r"<style>.*?</style>", "", error, flags=re.S)
    text = re.sub(r"</(tr|p|div)>", "\n", re.sub(r"</td>", "\t", text))
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


@pytest.mark.slow
def test_course_lab_validates_with_the_report_card(tmp_path, monkeypatch):
    require_fresh_setup()
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    root = course_mirror(tmp_path / "course")
    with jupyter_lab(root, "lab", tmp_path / "home") as lab:
        log = lab.log.read_text()
        assert "dlutils.validate_server | extension was successfully loaded" in log, log
        assert "validate_assignment nbgrader serverextension" not in log

        with urllib.request.urlopen(f"{lab.url}/nbgrader_version?version=0.9.6&token="
                                    f"{lab.token}", timeout=30) as response:
            assert json.loads(response.read()) == {"success": True}
        assert _post(lab, "../../etc/passwd")[0] == 403

        # The released A1, untouched: every function not attempted yet. Meanwhile the server
        # answers other requests (the notebook runs in a worker thread).
        result = {}
        worker = threading.Thread(target=lambda: result.update(a1=_post(lab, A1)))
        worker.start()
        time.sleep(1.0)
        start = time.monotonic()
        with urllib.request.urlopen(f"{lab.url}/api/status?token={lab.token}", timeout=30):
            pass
        assert time.monotonic() - start < 5
        worker.join(timeout=600)
        status, answer = result["a1"]
        assert status == 200 and answer["success"] is True
        text = _shown(answer)
        assert text.startswith("numpy_basics.ipynb: 0 of 8 functions pass their public tests; "
                               "8 not attempted yet.\n"), text
        assert "○\tsoftmax\tnot attempted yet\t4 points" in text
        assert "Traceback" not in text and "NotImplementedError" not in text

        # A lecture companion, asked the Assignment List's way: its exercises, one by one.
        status, answer = _post(lab, WEEK2, json_body=True)
        assert status == 200 and answer["success"] is True
        text = _shown(answer)
        assert text.startswith("week2_computation_graph_and_vectorisation.ipynb: 0 of 6 "
                               "exercises correct; 6 not attempted yet.\n"), text
        assert "○\tExercise 1 (backward pass)\tnot attempted yet" in text


def test_the_checking_kernel_is_marked_without_marking_the_server():
    """A server's later kernels inherit its environment: validating must not change it."""
    before = dict(os.environ)
    env = nc.kernel_environment({"EXTRA": "1"})
    assert env["NBGRADER_VALIDATING"] == "1" and env["EXTRA"] == "1"
    assert env["NBGRADER_EXECUTION"] == (os.environ.get("NBGRADER_EXECUTION") or "validate")
    assert dict(os.environ) == before
