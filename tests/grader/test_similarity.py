"""dlgrader.similarity: copied solutions rank first, independent and blank ones stay out, pages
escape student code; on 02_logistic_regression with solutions written for these tests
(similarity_class.py). Reads submitted/ only: no grading, no sandbox."""

import contextlib
import copy
import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from similarity_class import ANN, CAT, DAN, EVE, NB, SCRIPT, A, course, notebook, solution_cells

from dlgrader import cli, grading, report, similarity

COPIES = {("ann", "bob"), ("ann", "cat"), ("bob", "cat")}
BLANK = {"fay", "gus", "hal", "ivy"}


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """ann; bob, an exact copy of ann's notebook; cat, ann's renamed copy; dan and eve,
    independent; fay and gus, the release untouched; hal, the release without its propagate
    cell; ivy, a file that is no notebook."""
    submissions = {"ann": notebook(ANN), "bob": notebook(ANN), "cat": notebook(CAT),
                   "dan": notebook(DAN), "eve": notebook(EVE), "fay": notebook({}),
                   "gus": notebook({}), "hal": notebook({}, drop=("propagate_solution",)),
                   "ivy": b'{"cells": [ this is not JSON'}
    root = course(tmp_path_factory.mktemp("similarity"), submissions)
    result = similarity.analyse(root)
    out = similarity.write(result, root / "out" / "similarity")
    return root, result, out


def names(pair):
    return (pair.a, pair.b)


def test_the_solutions_are_correct():
    """The four solutions of the class agree with the reference solutions (so dan and eve are
    independent *correct* solutions, not wrong ones that differ by accident)."""

    def run(kind, solutions=None):
        rng = np.random.default_rng(0)
        space = {"np": np, "copy": copy,
                 "train_set_x_orig": rng.integers(0, 256, (7, 4, 4, 3)).astype(np.uint8),
                 "test_set_x_orig": rng.integers(0, 256, (5, 4, 4, 3)).astype(np.uint8)}
        for source in solution_cells(kind, solutions):
            exec(source, space)  # our own test solutions, not student code
        return space

    ref = run("source")
    rng = np.random.default_rng(1)
    X, w, b = rng.normal(size=(4, 9)), rng.normal(size=(4, 1)), 0.3
    Y = (rng.random((1, 9)) > 0.5).astype(float)
    for solutions in (ANN, CAT, DAN, EVE):
        got = run("release", solutions)
        for name in ("m_train", "m_test", "num_px", "train_set_x_flatten", "test_set_x"):
            np.testing.assert_allclose(got[name], ref[name])
        z = rng.normal(size=(3, 2))
        np.testing.assert_allclose(got["sigmoid"](z), ref["sigmoid"](z))
        w0, b0 = got["initialize_with_zeros"](3)
        assert w0.shape == (3, 1) and w0.dtype == float and type(b0) is float and b0 == 0
        (g1, c1), (g2, c2) = got["propagate"](w, b, X, Y), ref["propagate"](w, b, X, Y)
        np.testing.assert_allclose([*g1["dw"].ravel(), g1["db"], c1],
                                   [*g2["dw"].ravel(), g2["db"], c2])
        (p1, g1, k1), (p2, g2, k2) = (f(w, b, X, Y, 150, 0.1) for f in (got["optimize"],
                                                                        ref["optimize"]))
        np.testing.assert_allclose([*p1["w"].ravel(), p1["b"], *g1["dw"].ravel(), *k1],
                                   [*p2["w"].ravel(), p2["b"], *g2["dw"].ravel(), *k2])
        np.testing.assert_array_equal(got["predict"](w, b, X), ref["predict"](w, b, X))
        with contextlib.redirect_stdout(io.StringIO()):
            d1, d2 = (f(X, Y, X[:, :4], Y[:, :4], 200, 0.1) for f in (got["model"], ref["model"]))
        for key in d2:
            np.testing.assert_allclose(d1[key], d2[key])


class TestClass:
    """The class of the fixture, compared with the default settings."""

    def test_copies_rank_first(self, klass):
        """The exact copy first (1.0), then the renamed copy with ann and bob (below 1: the
        swapped lines break a few matches), all three above the threshold."""
        _, result, _ = klass
        assert names(result.pairs[0]) == ("ann", "bob") and result.pairs[0].score == 1.0
        assert {names(p) for p in result.pairs[1:3]} == {("ann", "cat"), ("bob", "cat")}
        assert 0.9 < result.pairs[1].score == result.pairs[2].score < 1.0
        assert {names(p) for p in result.above()} == COPIES

    def test_independent_solutions_stay_below(self, klass):
        """dan and eve, and each of them with the copies, score far below the threshold."""
        _, result, _ = klass
        others = [p for p in result.pairs if names(p) not in COPIES]
        assert {names(p) for p in others} == {("dan", "eve"), ("ann", "dan"), ("bob", "dan"),
                                              ("cat", "dan"), ("ann", "eve"), ("bob", "eve"),
                                              ("cat", "eve")}
        assert max(p.score for p in others) < 0.35 < result.settings.threshold

    def test_short_functions_and_blanks_are_left_out(self, klass):
        """Only the long functions are compared; blank, unattempted, cell-less and unreadable
        submissions pair with nobody."""
        _, result, out = klass
        assert result.compared == {A: ["propagate", "optimize", "model"]}
        assert result.short == {A: ["sizes", "flatten", "standardize", "sigmoid",
                                    "initialize_with_zeros", "predict"]}
        assert not BLANK & {s for p in result.pairs for s in names(p)}
        with (out / "pairs.csv").open() as fh:
            rows = list(csv.DictReader(fh))
        assert not BLANK & ({r["student_a"] for r in rows} | {r["student_b"] for r in rows})

    def test_missing_cell_and_unreadable_notebook_are_notes(self, klass):
        """hal's deleted cell and ivy's broken file are skipped with a note, not a crash."""
        _, result, out = klass
        assert f"{A} / hal: no cell propagate_solution in {NB}: propagate not compared" \
            in result.notes
        ivy = [n for n in result.notes if n.startswith(f"{A} / ivy: ")]
        assert len(ivy) == 1 and f"{NB} skipped: it is not a readable notebook" in ivy[0]
        assert len(result.notes) == 2
        assert (out / "notes.txt").read_text().splitlines() == result.notes

    def test_pairs_csv(self, klass):
        """Every compared pair, best first, with the per-function scores and its page."""
        _, result, out = klass
        with (out / "pairs.csv").open() as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) == len(result.pairs) == 10
        first = rows[0]
        assert (first["assignment"], first["student_a"], first["student_b"], first["score"],
                 first["functions"]) == (A, "ann", "bob", "1.000", "3")
        assert first["function_scores"] == "propagate=1.000; optimize=1.000; model=1.000"
        assert first["page"] == f"{A}/ann__bob.html"
        assert [float(r["score"]) for r in rows] == sorted((float(r["score"]) for r in rows),
                                                           reverse=True)
        assert {r["page"] for r in rows[3:]} == {""}
        assert sorted(p.name for p in (out / A).iterdir()) == \
            ["ann__bob.html", "ann__cat.html", "bob__cat.html"]

    def test_page_escapes_student_code(self, klass):
        """cat's comment with a <script> is shown as text; the page holds no script at all
        and forbids any (Content-Security-Policy)."""
        _, _, out = klass
        page = (out / A / "ann__cat.html").read_text()
        assert "alert(&quot;copied&quot;)" in page and "&lt;script&gt;" in page
        assert "<script" not in page and SCRIPT not in page
        assert "default-src 'none'" in page
        assert "<h2>propagate: 0.9" in page and page.count("<mark>") >= 6
        assert "<mark>" in page.split("<h3>cat</h3>")[1]

    def test_markdown_section(self, klass):
        """The report's section lists the three pairs with score and link, and what was
        compared."""
        _, result, _ = klass
        text = "\n".join(similarity.markdown(result))
        assert text.startswith("## Similar solutions")
        assert "3 pair(s) at or above the threshold 0.70" in text
        assert (f"| {A} | ann and bob | 1.00 | propagate 1.00, optimize 1.00, model 1.00 | "
                f"[side by side](similarity/{A}/ann__bob.html) |") in text
        assert f"- {A}: compared propagate, optimize, model; too short to tell apart: " in text
        assert f"- {A} / ivy: {NB} skipped" in text

    def test_threshold_above_everything(self, klass):
        """A threshold no pair reaches: a sentence saying so, with the threshold."""
        root, _, _ = klass
        result = similarity.analyse(root, settings=similarity.Settings(threshold=1.0 + 1e-9))
        text = "\n".join(similarity.markdown(result))
        assert "No pair of students is at or above the threshold 1.00 (10 pair(s) compared)." \
            in text


def test_repairs_like_the_pipeline(tmp_path):
    """A renamed notebook is read as the released one, the last copy of a duplicated cell
    counts, a missing cell leaves the other functions compared; a student id with HTML is
    escaped in the page and the Markdown, and its page gets a safe file name."""
    kim = notebook(ANN)
    first = next(c for c in kim["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id")
                 == "propagate_solution")
    kim["cells"].insert(0, {**first, "id": "early", "source": "cost = 0  # my first try\n"})
    root = course(tmp_path, {"ann": notebook(ANN), "eve": notebook(EVE)})
    for student, nb, name in (("k<b>im", kim, "my copy.ipynb"),
                              ("lou", notebook(EVE, drop=("model_solution",)), NB)):
        folder = root / "submitted" / student / A
        folder.mkdir(parents=True)
        (folder / name).write_text(json.dumps(nb))
    result = similarity.analyse(root)
    assert result.notes == [f"{A} / k<b>im: notebook renamed: read my copy.ipynb as {NB}",
                            f"{A} / lou: no cell model_solution in {NB}: model not compared"]
    top = {names(p): p for p in result.above()}
    assert set(top) == {("ann", "k<b>im"), ("eve", "lou")}
    assert top["ann", "k<b>im"].score == 1.0 and len(top["ann", "k<b>im"].functions) == 3
    assert list(top["eve", "lou"].functions) == ["propagate", "optimize"]
    out = similarity.write(result, tmp_path / "out")
    page = (out / A / "ann__k_b_im.html").read_text()
    assert "k&lt;b&gt;im" in page and "k<b>im" not in page
    assert "ann and k\\<b\\>im" in "\n".join(similarity.markdown(result))


def test_without_source(klass, tmp_path):
    """Without source/ the functions come from the release and a function's size is the
    median of the class's solutions: the copies still lead."""
    root, _, _ = klass
    for folder in ("release", "submitted"):
        shutil.copytree(root / folder, tmp_path / folder)
    result = similarity.analyse(tmp_path)
    assert {"propagate", "model"} <= set(result.compared[A]) and "sigmoid" in result.short[A]
    assert names(result.pairs[0]) == ("ann", "bob") and result.pairs[0].score == 1.0


def test_class_wide_code_is_boilerplate():
    """In a class of 12 where everyone writes the same long line and a line of their own, the
    shared line would make every pair look copied; as a fingerprint of more than half of the
    class it is boilerplate, and only the real copy (s11 of s00) stays above the threshold."""
    template = "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n    return y\n"
    common = ("y = np.linalg.norm(x, axis=1, keepdims=True) + np.sum(x * x) / x.size\n"
              "    y = np.clip(y, a_min=0.0, a_max=None).reshape(1, -1)")
    own = ["q = x[2:, 1] ** 3 - np.cumsum(x)[0] / 7", "y = y @ x.T[4] + 18 * 5",
           "z = {'a': y}; y = z['a'][::2] * 29", "y = abs(y) if y.ndim > 1 else -y",
           "for r in range(3): y = y + r * 0.25", "y = np.maximum(y, x.min()) // 1.5",
           "w = [v for v in y.flat if v != 0]; y = np.array(w)", "y = y.T.copy().T % 11",
           "y += np.eye(1)[0, 0] * x.mean() - 4e-3", "y = np.sqrt(np.square(y)).astype('f8')",
           "while y.max() > 100: y = y / 2.0"]
    solutions = {f"s{i:02d}": {"f_solution": template.replace(
        "    # YOUR CODE HERE\n    raise NotImplementedError()\n", f"    {common}\n    {line}\n")}
        for i, line in enumerate(own)}
    solutions["s11"] = dict(solutions["s00"])
    reference = template.replace("# YOUR CODE HERE", common)
    funcs = [similarity.Function("f_solution", "f", "f.ipynb", "f_solution", template,
                                 reference)]
    alone = similarity.compare(A, funcs, solutions, similarity.Settings(min_class=100))
    assert min(p.score for p in alone.pairs) > 0.5  # without the rule: 66 suspicious pairs
    assert len(alone.above()) > 20
    result = similarity.compare(A, funcs, solutions)
    assert [names(p) for p in result.above()] == [("s00", "s11")]
    honest = [p.score for p in result.pairs[1:]]
    assert result.pairs[0].score == 1.0 and max(honest) < 0.6 and sum(honest) / len(honest) < 0.2


def test_result_does_not_depend_on_the_hash_seed(klass, tmp_path):
    """copydetect hashes with Python's hash(); window 1 keeps every fingerprint, so a run with
    another PYTHONHASHSEED writes the same pairs.csv."""
    root, _, out = klass
    seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    code = ("import sys; from pathlib import Path; from dlgrader import similarity as s; "
            "s.write(s.analyse(Path(sys.argv[1])), Path(sys.argv[2]))")
    subprocess.run([sys.executable, "-c", code, str(root), str(tmp_path)], check=True,
                   env={**os.environ, "PYTHONHASHSEED": seed})
    again = (tmp_path / "pairs.csv").read_text()
    assert again == (out / "pairs.csv").read_text() and again.count("\n") == 11


def test_command(klass, tmp_path, capsys):
    """./course similarity [A] --out DIR: the files and the list; an unknown assignment is an
    error that names the known ones."""
    root, _, _ = klass
    out = tmp_path / "sim"
    assert cli.main(["similarity", A, "--out", str(out), "--course", str(root),
                     "--threshold", "0.95"]) == 0
    printed = capsys.readouterr().out
    assert "10 pair(s) compared; 3 at or above 0.95:" in printed
    assert f"1.00  {A}  ann and bob  {out / A / 'ann__bob.html'}" in printed
    assert "2 note(s)" in printed
    assert (out / "pairs.csv").exists() and "## Similar solutions" in \
        (out / "similarity.md").read_text()
    assert cli.main(["similarity", "03_nothing", "--out", str(out), "--course", str(root)]) == 1
    assert f"no such assignment in {root / 'release'}: 03_nothing (known: {A})" in \
        capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["similarity", "--out", str(out), "--threshold", "7"])


def test_report_runs_it(klass, tmp_path, monkeypatch):
    """./course report OUT has the section and the folder; --no-similarity leaves both out."""
    root, _, _ = klass
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("NNDL_DB_URL", raising=False)
    (root / "nbgrader_config.py").write_text((grading.REPO / "nbgrader_config.py").read_text())
    text = report.report(root, tmp_path / "out").read_text()
    section = text.split("## Similar solutions")[1]
    assert f"[side by side](similarity/{A}/ann__bob.html)" in section
    assert (tmp_path / "out" / "similarity" / A / "ann__bob.html").exists()
    assert cli.main(["report", str(tmp_path / "plain"), "--course", str(root),
                     "--no-similarity"]) == 0
    assert "Similar solutions" not in (tmp_path / "plain" / "report.md").read_text()
    assert not (tmp_path / "plain" / "similarity").exists()
    assert cli.main(["report", str(tmp_path / "strict"), "--course", str(root),
                     "--similarity-threshold", "0.99"]) == 0
    assert "1 pair(s) at or above the threshold 0.99" in \
        (tmp_path / "strict" / "report.md").read_text()


def test_requirement_is_pinned():
    """copydetect is pinned in requirements.txt (MIT licence, checked when it was added)."""
    import copydetect

    lines = (grading.REPO / "requirements.txt").read_text().splitlines()
    assert f"copydetect=={copydetect.__version__}" in lines
    assert Path(copydetect.__file__).parent.name == "copydetect"
