"""Generate A5's helper module ``dnn_app_utils.py`` from the A4 source notebook.

A5 ("Deep neural network application") gives students the A4 building blocks as a module next
to its notebook. That module is not maintained by hand: this script reads the solution cells
(``metadata.nbgrader.solution == true``) of the A4 source notebook, takes the functions A5 needs
by name, drops the ``### BEGIN SOLUTION`` / ``### END SOLUTION`` marker lines and writes them,
unchanged otherwise, together with the three functions in which A5 differs from A4 (written once
here, in ``A5_INIT`` and ``A5_PREDICT``):

- ``initialize_parameters(n_x, n_h, n_y)``: seeds 1, weights randn * 0.01, biases zero;
- ``initialize_parameters_deep(layer_dims)``: seeds 1, W_l = randn(n_l, n_{l-1}) / sqrt(n_{l-1});
- ``predict(X, y, parameters)``: L_model_forward, threshold 0.5, prints the accuracy.

Usage (from the repository root):

    .venv/bin/python tools/build_dnn_app_utils.py           # (re)write the module
    .venv/bin/python tools/build_dnn_app_utils.py --check   # exit 1 if it is out of date

The output depends only on the notebook's solution cells and this script: regenerating gives
byte-identical files.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import difflib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
A4_NOTEBOOK = REPO / "source" / "04_deep_nn_step_by_step" / "deep_nn_step_by_step.ipynb"
OUTPUT = REPO / "source" / "05_deep_nn_application" / "dnn_app_utils.py"
MAX_LINE = 100  # pyproject.toml's ruff line-length

# The A4 functions A5 uses, in the order they appear in the module.
FROM_A4 = (
    "linear_forward",
    "linear_activation_forward",
    "L_model_forward",
    "compute_cost",
    "linear_backward",
    "linear_activation_backward",
    "L_model_backward",
    "update_parameters",
)
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")

# Module-level names the functions may use, and the import that provides each.
IMPORTS = {
    "copy": ("stdlib", "import copy"),
    "math": ("stdlib", "import math"),
    "np": ("third", "import numpy as np"),
    "relu": ("first", "dlutils.activations"),
    "relu_backward": ("first", "dlutils.activations"),
    "sigmoid": ("first", "dlutils.activations"),
    "sigmoid_backward": ("first", "dlutils.activations"),
}

# Where A5 differs from A4. Everything the course's A5 numbers depend on is here.
A5_INIT = '''\
def initialize_parameters(n_x, n_h, n_y):
    """Parameters of a LINEAR->RELU->LINEAR->SIGMOID network (A5 version).

    Seeds the global generator with np.random.seed(1) itself, so every call with the same sizes
    returns the same values. Draws W1 first, then W2.

    Inputs:
    - n_x: size of the input layer
    - n_h: size of the hidden layer
    - n_y: size of the output layer
    Returns parameters, a dict of:
    - W1: (n_h, n_x), standard normal values times 0.01
    - b1: (n_h, 1), zeros
    - W2: (n_y, n_h), standard normal values times 0.01
    - b2: (n_y, 1), zeros
    """
    np.random.seed(1)
    W1 = np.random.randn(n_h, n_x) * 0.01
    b1 = np.zeros((n_h, 1))
    W2 = np.random.randn(n_y, n_h) * 0.01
    b2 = np.zeros((n_y, 1))
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def initialize_parameters_deep(layer_dims):
    """Parameters of an L-layer network, scaled by 1/sqrt(n_{l-1}) (A5 version).

    Unlike A4 (seed 3, weights times 0.01) this seeds np.random.seed(1) and divides layer l's
    weights by sqrt(n_{l-1}), its number of inputs: each unit of Z^[l] then starts with a
    variance equal to the mean square of its inputs, however wide the layer, so the signal and
    the gradients keep their size through the layers and gradient descent moves every layer from
    the start.

    Inputs:
    - layer_dims: sequence [n_0, n_1, ..., n_L], the size of every layer, input first
    Returns parameters, a dict with for l = 1, ..., L:
    - "W" + str(l): (n_l, n_{l-1}), standard normal values divided by sqrt(n_{l-1})
    - "b" + str(l): (n_l, 1), zeros
    """
    np.random.seed(1)
    parameters = {}
    for layer in range(1, len(layer_dims)):
        n_in, n_out = layer_dims[layer - 1], layer_dims[layer]
        parameters[f"W{layer}"] = np.random.randn(n_out, n_in) / np.sqrt(n_in)
        parameters[f"b{layer}"] = np.zeros((n_out, 1))
    return parameters
'''

A5_PREDICT = '''\
def predict(X, y, parameters):
    """Predict labels with a trained network, print its accuracy and return the predictions.

    The accuracy printed is the fraction of correct predictions, mean(p == y), a number between
    0 and 1: the quantity A2 prints as a percentage (100 - mean(|p - y|) * 100).

    Inputs:
    - X: (n_x, m) examples, one per column
    - y: (1, m) true labels, 0 or 1
    - parameters: {"W1", "b1", ..., "WL", "bL"} of an L-layer network, as returned by
      L_layer_model (or by two_layer_model: the same network with L = 2)
    Returns:
    - p: (1, m) float array of predictions, 1.0 where the output A^[L] > 0.5, else 0.0
    """
    probas, _ = L_model_forward(X, parameters)
    p = (probas > 0.5).astype(float)
    if np.shape(y) != p.shape:
        raise ValueError(f"y must have shape {p.shape}, one label per column of X, "
                         f"got {np.shape(y)}")
    accuracy = float(np.mean(p == y))
    print(f"Accuracy: {accuracy}")
    return p
'''

HEADER = '''\
"""Building blocks of an L-layer neural network, for A5 "Deep neural network application".

GENERATED FILE - DO NOT EDIT. tools/build_dnn_app_utils.py writes it from the solution cells of

    {notebook}

The functions marked "from A4" are A4's reference solutions, copied with only the solution
marker lines removed; the others (initialize_parameters, initialize_parameters_deep, predict)
are written in that script, because A5 differs from A4 there. To change anything, edit the A4
notebook or the script, then regenerate from the repository root:

    .venv/bin/python tools/build_dnn_app_utils.py

(--check only tests whether this file is up to date; the test suite runs it).

Shapes follow the course's column convention: X is (n_x, m), Y is (1, m), W_l is
(n_l, n_{{l-1}}), b_l is (n_l, 1).
"""
'''

SECTION = "# " + "-" * 97


class BuildError(RuntimeError):
    """The A4 notebook does not provide what the module needs."""


def _cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def solution_functions(notebook: Path) -> dict[str, tuple[str, str]]:
    """Every top-level function of the notebook's solution cells.

    Returns {name: (grade_id of its cell, source text without solution markers)}.
    """
    if not notebook.is_file():
        raise BuildError(f"A4 source notebook not found: {notebook}")
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    found: dict[str, tuple[str, str]] = {}
    for index, cell in enumerate(nb.get("cells", [])):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or not meta.get("solution"):
            continue
        grade_id = meta.get("grade_id", f"cell {index}")
        source = _cell_source(cell)
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            raise BuildError(f"{notebook.name}, solution cell {grade_id!r} is not plain "
                             f"Python: {exc}") from exc
        lines = source.splitlines()
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef):
                continue
            if node.name in found:
                raise BuildError(f"{notebook.name}: function {node.name!r} is defined in two "
                                 f"solution cells ({found[node.name][0]!r}, {grade_id!r})")
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            kept = [line.rstrip() for line in lines[start - 1:node.end_lineno]
                    if line.strip() not in MARKERS]
            found[node.name] = (grade_id, "\n".join(kept) + "\n")
    return found


def _free_names(func: ast.FunctionDef) -> set[str]:
    """Names a function reads that it neither binds nor gets from builtins (approximate)."""
    bound: set[str] = set()
    loaded: set[str] = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node is not func:
                bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return loaded - bound - set(dir(builtins))


def _import_block(names: set[str]) -> str:
    """The import lines for ``names``, grouped and sorted as ruff's isort rules want."""
    stdlib = sorted(IMPORTS[n][1] for n in names if IMPORTS[n][0] == "stdlib")
    third = sorted(IMPORTS[n][1] for n in names if IMPORTS[n][0] == "third")
    first = sorted(n for n in names if IMPORTS[n][0] == "first")
    groups = [stdlib, third]
    if first:
        groups.append([f"from dlutils.activations import {', '.join(first)}"])
    return "\n\n".join("\n".join(g) for g in groups if g) + "\n"


def build(notebook: Path = A4_NOTEBOOK) -> str:
    """The text of dnn_app_utils.py generated from ``notebook``."""
    available = solution_functions(notebook)
    missing = [name for name in FROM_A4 if name not in available]
    if missing:
        raise BuildError(f"{notebook.name} has no solution cell defining {missing} (solution "
                         f"cells define {sorted(available)})")
    a4_blocks = [f"# from A4, cell {available[name][0]}\n{available[name][1]}"
                 for name in FROM_A4]
    a5_blocks = [A5_INIT, A5_PREDICT]

    defined = set(FROM_A4) | {"initialize_parameters", "initialize_parameters_deep", "predict"}
    needed: set[str] = set()
    for block in a4_blocks + a5_blocks:
        for node in ast.parse(block).body:
            if isinstance(node, ast.FunctionDef):
                free = _free_names(node) - defined
                unknown = sorted(free - set(IMPORTS))
                if unknown:
                    raise BuildError(f"{node.name} uses {unknown}, which the module cannot "
                                     f"provide (it imports only {sorted(IMPORTS)})")
                needed |= free

    exported = ["initialize_parameters", "initialize_parameters_deep", *FROM_A4, "predict"]
    parts = [
        HEADER.format(notebook=notebook.relative_to(REPO) if notebook.is_relative_to(REPO)
                      else notebook.name),
        _import_block(needed),
        "__all__ = [\n" + "".join(f'    "{name}",\n' for name in exported) + "]\n",
        f"{SECTION}\n# A5's initialisation (differs from A4: seed 1, and 1/sqrt(n_{{l-1}}) for the "
        f"deep network)\n\n\n{A5_INIT}",
        f"{SECTION}\n# The A4 building blocks\n\n\n" + "\n\n".join(a4_blocks),
        f"{SECTION}\n# A5's prediction\n\n\n{A5_PREDICT}",
    ]
    # One blank line between the imports and __all__ (ruff's isort), two elsewhere.
    text = parts[0] + "\n" + parts[1] + "\n" + "\n\n".join(parts[2:])
    if any(len(line) > MAX_LINE for line in text.splitlines()):
        # Notebooks are linted without a line-length limit; keep the copied lines as they are.
        text = text.replace('"""\n\n', '"""\n\n# ruff: noqa: E501  (lines copied from the A4 '
                            'notebook, where line length is not enforced)\n\n', 1)
    compile(text, str(OUTPUT), "exec")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the module differs from a fresh build")
    parser.add_argument("--source", type=Path, default=A4_NOTEBOOK,
                        help="A4 source notebook (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=OUTPUT,
                        help="module to write or check (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        text = build(args.source)
    except BuildError as exc:
        print(f"build_dnn_app_utils: {exc}", file=sys.stderr)
        return 2
    current = args.output.read_text(encoding="utf-8") if args.output.is_file() else None
    if args.check:
        if current == text:
            print(f"{args.output} is up to date")
            return 0
        print(f"{args.output} is out of date: run .venv/bin/python tools/build_dnn_app_utils.py",
              file=sys.stderr)
        diff = difflib.unified_diff((current or "").splitlines(), text.splitlines(),
                                    "committed", "generated", lineterm="", n=1)
        for line in list(diff)[:40]:
            print(line, file=sys.stderr)
        return 1
    if current == text:
        print(f"{args.output} unchanged")
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
