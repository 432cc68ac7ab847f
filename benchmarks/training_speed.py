"""Training speed: the A2, A3 and A5 reference training loops against this machine's limits.

    .venv/bin/python benchmarks/training_speed.py [--iterations K] [--repeats R] [--threads N]
                                                 [--profile] [--no-variants]

What is timed. The reference implementations themselves, not copies: the helper and solution
cells of the source notebooks, read with nbformat and executed in a fresh namespace per loop, and
A5's helper module source/05_deep_nn_application/dnn_app_utils.py (generated from A4's solution
cells), executed from its file into the same namespace, as the A5 notebook imports it. The data
is the shipped data, prepared by the notebooks' own cells (so X has the notebooks' memory layout:
the flattened pictures are a transposed view, and X = flatten / 255 is Fortran-ordered):

    A2            optimize(w=0, b=0, X, Y, K, learning_rate=0.005)      X (12288, 300), cat pictures
    A3            nn_model(X, Y, n_h=4, 20*K)                           X (2, 400), the flower
    A5 two-layer  two_layer_model(X, Y, (12288, 7, 1), 0.0075, K)       X (12288, 300)
    A5 L-layer    L_layer_model(X, Y, [12288, 20, 7, 5, 1], 0.0075, K)  X (12288, 300)

Each loop runs K iterations (A3, a hundred times cheaper per iteration, 20*K), R times, with the
garbage collector off as in timeit; a 0-iteration call (the seeding and initialisation) is timed
too and subtracted (A2's optimize cannot run 0 iterations; its setup is one copy of w). The loops
of one assignment, reference and variants, take turns within every repeat so that a change in the
machine's load hits them alike. ms/it is the best repeat; the median follows in parentheses.

The limit of a loop, in ms per iteration, is a lower bound measured in the same run:

    limit = products + traffic

- products: the sum, over the matrix products one iteration makes, of the best time of that
  np.dot alone. The products are recorded from a real iteration of the loop (np.dot is wrapped in
  the loop's namespace), with the very operands, so the shapes, float64 and the memory layouts
  (X, X.T views, W.T) are exactly the loop's. Timed back to back, the operands stay in cache (X is
  29.5 MB; this machine's L3 may hold it) and nothing else competes for the memory: a product inside
  the loop can only take longer.
- traffic: what the loop must move outside the products: the update reads every parameter and its
  gradient and writes the new value, 24 bytes per float64 parameter, counted at the best copy
  bandwidth measured at any size (cache-resident sizes included, again the best case).

Everything else (the elementwise functions on (n_l, m) arrays, the cost, the Python interpreter)
counts as zero, so the limit never overstates what the hardware needs. ratio = ms/it / limit; the
goal of the issue is ratio <= 1.5.

"needed" is the limit without the products the trained parameters do not depend on: dA0 = W1^T dZ1,
the gradient with respect to the input X, a (12288, 300) array (29.5 MB written every iteration)
that both A5 loops compute and throw away. two_layer_model could skip it; L_layer_model gets it
from A4's L_model_backward, whose grads["dA0"] A4's tests check.

The limits are sampled in every repeat, between the loops' runs, so that both see the same
load, and printed before the table: read and copy bandwidth for an X-sized array and for a 256 MB
one (main memory), and every distinct product's best time, GFLOP/s and GB/s. "X read twice" is
2 x 29.5 MB at the X-sized read bandwidth, what the two products over X must at least move. Read
bandwidth is the best of X.sum() and of the BLAS reduction ones(1, n) @ X (threaded like the
loops' products); copy bandwidth is np.copyto.

Optimised variants (benchmark only; the course's code is not changed). Each is the reference
source with exact text replacements (the Patch constants P1, P2, P3_A3, P3_A4 below; each must
match exactly once, so a changed reference stops the benchmark), executed in its own namespace;
its results must be bit-identical (np.array_equal on every parameter and every recorded cost) to
the reference's:

    P1  A5 two_layer_model: layer 1 without dA0 (relu_backward, then dW1 and db1 as
        linear_backward computes them)
    P2  L_model_backward (A4's, in dnn_app_utils): layer 1 without dA0 (headroom only: A4's tests
        check grads["dA0"])
    P3  update_parameters (A3's, and A4's in dnn_app_utils): dict(params) instead of
        copy.deepcopy(params); every W and b is then replaced by a new array, so the input is
        still not mutated

Bit-identity checks, all with np.array_equal: every repeat of a timed loop returns the same
parameters and costs as its first repeat; the reference equals a fresh, untimed call of the
notebook's function with the same iterations; every variant equals the reference. A failure is
printed and the exit status is 1.

The BLAS thread count is reported (threadpoolctl, else os.cpu_count(), flagged as an assumption);
--threads N limits it (needs threadpoolctl). --profile adds, per loop, the cProfile functions with
the most own time and the time spent inside np.dot during the real loop against the products'
best time alone. What the profiles show: benchmarks/README.md, "Where time goes".
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import cProfile
import gc
import io
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dlutils.data import load_cat_dataset  # noqa: E402
from dlutils.planar import load_planar_dataset  # noqa: E402

try:
    import threadpoolctl
except ImportError:  # optional: only the thread count report and --threads need it
    threadpoolctl = None

SOURCE = REPO / "source"
A2_NOTEBOOK = SOURCE / "02_logistic_regression" / "logistic_regression.ipynb"
A3_NOTEBOOK = SOURCE / "03_planar_classification" / "planar_classification.ipynb"
A5_NOTEBOOK = SOURCE / "05_deep_nn_application" / "deep_nn_application.ipynb"
DNN_APP_UTILS = SOURCE / "05_deep_nn_application" / "dnn_app_utils.py"
GOAL = 1.5
NOISY = 1.25  # a timing whose median is more than this times its best is flagged as noisy
A3_FACTOR = 20  # A3 runs A3_FACTOR * K iterations: its iterations are ~100x cheaper


# -------------------------------------------------------------------------------------------------
# The reference code, straight from the notebooks


def notebook_cells(path: Path, grade_ids: list[str]) -> list[tuple[str, str]]:
    """(label, source) of the code cells with these nbgrader grade_ids, in the order given."""
    nb = nbformat.read(path, as_version=4)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source
             for c in nb.cells if c.cell_type == "code"}
    missing = [g for g in grade_ids if g not in by_id]
    if missing:
        raise SystemExit(f"{path.relative_to(REPO)} has no code cell {missing}")
    return [(f"{path.name}:{g}", by_id[g]) for g in grade_ids]


@dataclass(frozen=True)
class Patch:
    """An exact text replacement in a reference's source: one optimised variant's change."""

    key: str
    title: str
    old: str
    new: str


def build_namespace(chunks: list[tuple[str, str]], patches: tuple[Patch, ...] = ()) -> dict:
    """Execute the chunks in order in a fresh namespace, the patches applied in turn.

    Each patch's text must occur exactly once in the chunks as the patches before it left them.
    """
    for p in patches:
        found = sum(source.count(p.old) for _, source in chunks)
        if found != 1:
            raise SystemExit(f"{p.key}: its text occurs {found} times instead of once: "
                             "the reference changed")
        chunks = [(label, source.replace(p.old, p.new)) for label, source in chunks]
    for label, source in chunks:
        check_products_are_np_dot(label, source)
    ns: dict[str, Any] = {"np": np, "copy": copy, "load_cat_dataset": load_cat_dataset,
                          "load_planar_dataset": load_planar_dataset}
    for label, source in chunks:
        with contextlib.redirect_stdout(io.StringIO()):  # the data cells print shapes
            exec(compile(source, label, "exec"), ns)  # the course's own cells
    return ns


def check_products_are_np_dot(label: str, source: str) -> None:
    """Stop if the code multiplies matrices other than with np.dot: the limit would miss it."""
    others = ("matmul", "einsum", "tensordot", "inner", "vdot", "multi_dot")
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult)) or (
                isinstance(node, ast.Attribute) and node.attr in others):
            raise SystemExit(f"{label}, line {node.lineno}: a matrix product other than np.dot; "
                             "record it in RecordingNumpy before timing this loop")


def a2_chunks() -> list[tuple[str, str]]:
    return notebook_cells(A2_NOTEBOOK, [
        "load_data", "flatten_solution", "standardize_solution", "sigmoid_solution",
        "initialize_with_zeros_solution", "propagate_solution", "optimize_solution"])


def a3_chunks() -> list[tuple[str, str]]:
    return notebook_cells(A3_NOTEBOOK, [
        "dataset_load", "layer_sizes_solution", "initialize_parameters_solution",
        "sigmoid_helper", "forward_propagation_solution", "compute_cost_solution",
        "backward_propagation_solution", "update_parameters_solution", "nn_model_solution"])


def a5_chunks() -> list[tuple[str, str]]:
    utils = (DNN_APP_UTILS.name, DNN_APP_UTILS.read_text())
    return [utils] + notebook_cells(A5_NOTEBOOK, [
        "load_dataset", "flatten", "two_layer_dims", "two_layer_model_solution", "L_layer_dims",
        "L_layer_model_solution"])


def run_a2(ns: dict, k: int):
    w, b = ns["initialize_with_zeros"](ns["train_set_x"].shape[0])
    return ns["optimize"](w, b, ns["train_set_x"], ns["train_set_y"], num_iterations=k,
                          learning_rate=0.005)


def run_a3(ns: dict, k: int):
    return ns["nn_model"](ns["X"], ns["Y"], 4, num_iterations=k)


def run_two_layer(ns: dict, k: int):
    return ns["two_layer_model"](ns["train_x"], ns["train_y"], (ns["n_x"], ns["n_h"], ns["n_y"]),
                                 learning_rate=ns["learning_rate"], num_iterations=k)


def run_l_layer(ns: dict, k: int):
    return ns["L_layer_model"](ns["train_x"], ns["train_y"], ns["layers_dims"],
                               learning_rate=ns["learning_rate"], num_iterations=k)


def input_matrix(ns: dict) -> np.ndarray:
    for name in ("train_set_x", "train_x", "X"):
        if name in ns:
            return ns[name]
    raise KeyError("no input matrix in the namespace")


# The proposed changes. The text on the left is the reference's, verbatim.
P1 = Patch("P1", "two_layer_model: no dA0",
           '        dA0, dW1, db1 = linear_activation_backward(dA1, cache1, "relu")\n',
           "        # Layer 1 takes X: dA0 = W1^T dZ1 would never be used, so it is not computed.\n"
           "        dZ1 = relu_backward(dA1, cache1[1])\n"
           "        dW1 = np.dot(dZ1, X.T) / X.shape[1]\n"
           "        db1 = np.sum(dZ1, axis=1, keepdims=True) / X.shape[1]\n")
_L_LOOP = ('        dA_prev, dW, db = linear_activation_backward(grads["dA" + str(layer)], '
           'caches[layer - 1], "relu")\n'
           '        grads["dA" + str(layer - 1)] = dA_prev\n'
           '        grads["dW" + str(layer)] = dW\n'
           '        grads["db" + str(layer)] = db\n')
P2 = Patch("P2", "L_model_backward: no dA0 (headroom only)",
           "    for layer in range(L - 1, 0, -1):\n" + _L_LOOP + "    return grads\n",
           "    for layer in range(L - 1, 1, -1):\n" + _L_LOOP
           + "    if L > 1:  # layer 1 takes X: dA0 would never be used, so it is not computed\n"
             "        (X, _, _), Z1 = caches[0]\n"
             '        dZ1 = relu_backward(grads["dA1"], Z1)\n'
             '        grads["dW1"] = np.dot(dZ1, X.T) / X.shape[1]\n'
             '        grads["db1"] = np.sum(dZ1, axis=1, keepdims=True) / X.shape[1]\n'
             "    return grads\n")
P3_A4 = Patch("P3", "update_parameters: dict(), not deepcopy",
              "    parameters = copy.deepcopy(params)\n",
              "    parameters = dict(params)  # each W, b is replaced below: params unchanged\n")
P3_A3 = Patch("P3", "update_parameters: dict(), not deepcopy",
              "    parameters = copy.deepcopy(parameters)\n",
              "    parameters = dict(parameters)  # every W and b is replaced below\n")


@dataclass
class Variant:
    label: str
    patches: tuple[Patch, ...] = ()
    ns: dict = field(default_factory=dict)


@dataclass
class Loop:
    name: str
    chunks: Callable[[], list[tuple[str, str]]]
    run: Callable[[dict, int], Any]
    iterations_factor: int
    has_setup: bool  # run(ns, 0) works: the setup is timed and subtracted
    variants: list[Variant]


def loops(with_variants: bool) -> list[Loop]:
    def v(*items: Variant) -> list[Variant]:
        return [Variant("reference")] + (list(items) if with_variants else [])

    return [
        Loop("A2 logistic regression", a2_chunks, run_a2, 1, False, v()),
        Loop("A3 planar, n_h = 4", a3_chunks, run_a3, A3_FACTOR, True,
             v(Variant("optimised P3", (P3_A3,)))),
        Loop("A5 two-layer [12288,7,1]", a5_chunks, run_two_layer, 1, True,
             v(Variant("P1", (P1,)), Variant("P3", (P3_A4,)),
               Variant("optimised P1+P3", (P1, P3_A4)))),
        Loop("A5 L-layer [12288,20,7,5,1]", a5_chunks, run_l_layer, 1, True,
             v(Variant("P2", (P2,)), Variant("P3", (P3_A4,)),
               Variant("optimised P2+P3", (P2, P3_A4)))),
    ]


# -------------------------------------------------------------------------------------------------
# Measuring


def best_time(fn: Callable[[], Any], repeats: int, min_sample: float = 2e-3) -> float:
    """Best seconds per call of fn over `repeats` samples, each sample at least min_sample long."""
    fn()
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    n = max(1, int(min_sample / max(once, 1e-7)))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


class RecordingNumpy:
    """Stands in for numpy in a loop's namespace: np.dot calls are recorded, the rest is numpy."""

    def __init__(self, keep_operands: bool) -> None:
        self.keep_operands = keep_operands
        self.calls: list[tuple[Any, Any, float]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)

    def dot(self, a, b, *args, **kwargs):
        start = time.perf_counter()
        out = np.dot(a, b, *args, **kwargs)
        elapsed = time.perf_counter() - start
        if self.keep_operands:
            self.calls.append((a, b, elapsed))
        else:
            self.calls.append((np.shape(a), np.shape(b), elapsed))
        return out


@contextlib.contextmanager
def recording(ns: dict, keep_operands: bool = True):
    recorder = RecordingNumpy(keep_operands)
    saved, ns["np"] = ns["np"], recorder
    try:
        yield recorder
    finally:
        ns["np"] = saved


def layout(a: np.ndarray) -> str:
    return "C" if a.flags.c_contiguous else "F" if a.flags.f_contiguous else "strided"


def product_key(a: np.ndarray, b: np.ndarray) -> str:
    return f"{a.shape}{layout(a)} @ {b.shape}{layout(b)}".replace(" ", "").replace("@", " @ ")


@dataclass
class Product:
    key: str
    operands: tuple[np.ndarray, np.ndarray]
    flops: float
    nbytes: float
    needed: bool


class ProductTimes:
    """Best seconds of every distinct product (by shapes and layouts), sampled in rounds."""

    def __init__(self) -> None:
        self.best: dict[str, float] = {}
        self.operands: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def add(self, product: Product) -> None:
        self.operands.setdefault(product.key, product.operands)
        self.best.setdefault(product.key, float("inf"))

    def sample(self, keys, repeats: int = 3) -> None:
        for key in keys:
            a, b = self.operands[key]
            self.best[key] = min(self.best[key],
                                 best_time(lambda a=a, b=b: np.dot(a, b), repeats))

    def seconds(self, products: list[Product], needed_only: bool = False) -> float:
        return sum(self.best[p.key] for p in products if p.needed or not needed_only)


def record_products(ns: dict, run: Callable[[dict, int], Any]) -> list[Product]:
    """The matrix products of one iteration of the loop, recorded with their operands."""
    x = input_matrix(ns)
    with recording(ns) as rec:
        run(ns, 1)
    products = []
    for a, b, _ in rec.calls:
        a, b = np.asarray(a), np.asarray(b)
        if a.ndim != 2 or b.ndim != 2:
            raise SystemExit(f"np.dot on {a.shape} and {b.shape}, not two matrices: this "
                             "benchmark only counts matrix products")
        (rows, inner), cols = a.shape, b.shape[1]
        # W1^T dZ1 = dA0, the gradient with respect to X: the only X-shaped product that is
        # neither W X nor a product with X itself.
        needed = not ((rows, cols) == x.shape and a is not x and b is not x)
        products.append(Product(product_key(a, b), (a, b), 2.0 * rows * inner * cols,
                                float(a.nbytes + b.nbytes + 8 * rows * cols), needed))
    return products


class Bandwidth:
    """Best bytes per second of reads (X-sized, 256 MB) and copies (four sizes), in rounds."""

    COPY_SIZES = (("256 KB", 2**18), ("2 MB", 2**21), ("X-sized", 0), ("256 MB", 2**28))

    def __init__(self, x: np.ndarray) -> None:
        self.x = np.array(x, order="K")  # X's shape and layout
        rows = x.shape[0]
        self.big = np.random.default_rng(0).random((rows, 2**28 // 8 // rows))
        self.ones = np.ones((1, rows))
        self.sources = {label: self.big.ravel()[: (nbytes or x.nbytes) // 8]
                        for label, nbytes in self.COPY_SIZES}
        self.targets = {label: np.empty_like(src) for label, src in self.sources.items()}
        self.read_x = self.read_big = 0.0
        self.copy = dict.fromkeys(self.sources, 0.0)

    def _read(self, a: np.ndarray, repeats: int) -> float:
        t = min(best_time(a.sum, repeats), best_time(lambda: np.dot(self.ones, a), repeats))
        return a.nbytes / t

    def sample(self, repeats: int = 3) -> None:
        self.read_x = max(self.read_x, self._read(self.x, repeats))
        self.read_big = max(self.read_big, self._read(self.big, repeats))
        for label, src in self.sources.items():
            dst = self.targets[label]
            t = best_time(lambda s=src, d=dst: np.copyto(d, s), repeats)
            self.copy[label] = max(self.copy[label], 2 * src.nbytes / t)

    @property
    def copy_best(self) -> float:
        return max(self.copy.values())


def flat_arrays(value: Any) -> list[np.ndarray]:
    """Every number in a nested result (dicts by sorted key, lists, tuples) as arrays."""
    if isinstance(value, dict):
        return [a for k in sorted(value) for a in flat_arrays(value[k])]
    if isinstance(value, (list, tuple)):
        return [a for item in value for a in flat_arrays(item)]
    return [np.asarray(value)]


def identical(a: Any, b: Any) -> bool:
    fa, fb = flat_arrays(a), flat_arrays(b)
    return len(fa) == len(fb) and all(x.dtype == y.dtype and np.array_equal(x, y)
                                      for x, y in zip(fa, fb, strict=True))


def parameter_bytes(result: Any) -> int:
    """Bytes of the trained parameters in a loop's result (w, b or the W and b of every layer)."""
    params = result if isinstance(result, dict) else result[0]
    return sum(np.asarray(v).nbytes for k, v in params.items() if k[0] in "wbWB")


@dataclass
class Timing:
    per_iteration: list[float] = field(default_factory=list)
    setups: list[float] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)

    def best(self) -> float:
        return min(self.per_iteration)

    def median(self) -> float:
        return statistics.median(self.per_iteration)

    def noisy(self) -> bool:
        """The median repeat is more than NOISY times the best: the load changed during the run."""
        return self.median() > NOISY * self.best()


def time_loop(loop: Loop, k: int, repeats: int, products: ProductTimes, keys: list[str],
              bandwidth: Bandwidth) -> list[Timing]:
    """Time every variant of the loop, taking turns within each repeat.

    Each repeat also samples the loop's matrix products alone and the bandwidth, so that the
    limit is measured in the same stretches of time (and load) as the loops.
    """
    timings = [Timing() for _ in loop.variants]
    raw_k: list[list[float]] = [[] for _ in loop.variants]
    raw_0: list[list[float]] = [[] for _ in loop.variants]
    for _ in range(repeats):
        for i, variant in enumerate(loop.variants):
            gc.collect()
            gc.disable()
            try:
                if loop.has_setup:
                    start = time.perf_counter()
                    loop.run(variant.ns, 0)
                    raw_0[i].append(time.perf_counter() - start)
                start = time.perf_counter()
                result = loop.run(variant.ns, k)
                raw_k[i].append(time.perf_counter() - start)
            finally:
                gc.enable()
            timings[i].results.append(result)
        products.sample(keys)
        bandwidth.sample(1)
    for i, t in enumerate(timings):
        setup = min(raw_0[i]) if raw_0[i] else 0.0
        t.setups = raw_0[i]
        t.per_iteration = [(s - setup) / k for s in raw_k[i]]
    return timings


# -------------------------------------------------------------------------------------------------
# Reporting


def blas_threads() -> str:
    if threadpoolctl is None:
        return f"{os.cpu_count()} (assumed: os.cpu_count(); threadpoolctl is not installed)"
    infos = [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    if not infos:
        return f"{os.cpu_count()} (assumed: threadpoolctl found no BLAS)"
    return ", ".join(f"{i['num_threads']} ({i['internal_api']} {i.get('version')}, "
                     f"{i.get('architecture')}, {i.get('threading_layer')})" for i in infos)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def profile_loop(loop: Loop, ns: dict, k: int, products: list[Product],
                 times: ProductTimes) -> None:
    """cProfile's functions with most own time, and the time inside np.dot in the real loop."""
    profiler = cProfile.Profile()
    profiler.enable()
    loop.run(ns, k)
    profiler.disable()
    stats = pstats.Stats(profiler)
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:8]
    print(f"  cProfile, {k} iterations, own time per iteration:")
    for (filename, line, func), (_, ncalls, tottime, _, _) in rows:
        where = f"{Path(filename).name}:{line}" if line else filename
        print(f"    {tottime / k * 1e3:8.3f} ms  {ncalls / k:6.1f} calls/it  {func} ({where})")
    start = time.perf_counter()
    with recording(ns, keep_operands=False) as rec:
        loop.run(ns, k)
    total = time.perf_counter() - start
    per_iteration = len(rec.calls) // k
    print(f"  np.dot inside the loop ({per_iteration} calls per iteration) against alone:")
    for j, product in enumerate(products):
        inside = [c[2] for c in rec.calls[j::per_iteration]]
        print(f"    {product.key:38s} inside {statistics.median(inside) * 1e3:8.3f} ms "
              f"(median), alone {times.best[product.key] * 1e3:8.3f} ms (best)"
              + ("" if product.needed else "  [dA0: not needed]"))
    in_dot = sum(c[2] for c in rec.calls)
    print(f"    products: {in_dot / k * 1e3:.3f} of {total / k * 1e3:.3f} ms per iteration, setup "
          f"included ({100 * in_dot / total:.0f} %)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20, metavar="K",
                        help="iterations per timed run (A3 runs 20*K); default 20")
    parser.add_argument("--repeats", type=int, default=7, metavar="R",
                        help="timed runs per loop, the best one counts; default 7")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="limit BLAS to N threads (threadpoolctl)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile each reference loop (cProfile, np.dot in the loop)")
    parser.add_argument("--no-variants", action="store_true",
                        help="time the reference loops only")
    args = parser.parse_args()
    if args.iterations < 1 or args.repeats < 1:
        parser.error("--iterations and --repeats must be at least 1")
    limiter = contextlib.nullcontext()
    if args.threads is not None:
        if threadpoolctl is None:
            parser.error("--threads needs threadpoolctl")
        limiter = threadpoolctl.threadpool_limits(limits=args.threads, user_api="blas")
    with limiter:
        return benchmark(args)


def benchmark(args: argparse.Namespace) -> int:
    k, repeats = args.iterations, args.repeats
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs, BLAS threads: {blas_threads()}")
    print(f"load average at start: {load()}", flush=True)
    failures: list[str] = []
    all_loops = loops(not args.no_variants)
    times = ProductTimes()
    recorded: dict[str, list[list[Product]]] = {}
    for loop in all_loops:
        for variant in loop.variants:
            variant.ns = build_namespace(loop.chunks(), variant.patches)
        recorded[loop.name] = [record_products(v.ns, loop.run) for v in loop.variants]
        for products in recorded[loop.name]:
            for product in products:
                times.add(product)
    x = input_matrix(all_loops[0].variants[0].ns)
    bandwidth = Bandwidth(x)

    rows = []
    for loop in all_loops:
        kk = k * loop.iterations_factor
        print(f"timing {loop.name}: {len(loop.variants)} loop(s) x {repeats} repeats x "
              f"{kk} iterations ...", flush=True)
        keys = list(dict.fromkeys(p.key for ps in recorded[loop.name] for p in ps))
        timings = time_loop(loop, kk, repeats, times, keys, bandwidth)
        reference = timings[0].results[0]
        for variant, timing in zip(loop.variants, timings, strict=True):
            tag = f"{loop.name} / {variant.label}"
            if not all(identical(r, timing.results[0]) for r in timing.results[1:]):
                failures.append(f"{tag}: repeats differ")
            if variant.label == "reference":
                fresh = loop.run(build_namespace(loop.chunks()), kk)
                if not identical(fresh, reference):
                    failures.append(f"{tag}: differs from a fresh call of the notebook function")
            elif not identical(timing.results[0], reference):
                failures.append(f"{tag}: result differs from the reference")
        for variant, timing, products in zip(loop.variants, timings, recorded[loop.name],
                                             strict=True):
            rows.append((loop, variant, timing, products, parameter_bytes(timing.results[0])))
        if args.profile:
            print(f"profile of {loop.name} (reference):")
            profile_loop(loop, loop.variants[0].ns, kk, recorded[loop.name][0], times)
    print(f"load average at end: {load()}")

    gb = 1e9
    print(f"\nMemory bandwidth: read {bandwidth.read_x / gb:.1f} GB/s for an X-sized array "
          f"({x.nbytes / 1e6:.1f} MB), {bandwidth.read_big / gb:.1f} GB/s for 256 MB; copy "
          "(read + write)")
    print("  " + ", ".join(f"{v / gb:.1f} GB/s at {s}" for s, v in bandwidth.copy.items())
          + f"; X read twice: {2 * x.nbytes / bandwidth.read_x * 1e3:.3f} ms "
          f"({2 * x.nbytes / bandwidth.read_big * 1e3:.3f} ms from main memory)")
    print(f"Matrix products (np.dot, float64, the loops' operands and layouts; best of "
          f"{3 * repeats} samples, back to back):")
    seen: dict[str, tuple[Product, str]] = {}
    for loop in all_loops:
        for products in recorded[loop.name]:
            for p in products:
                seen.setdefault(p.key, (p, loop.name.split(" ")[0]))
    for key, (p, name) in seen.items():
        t = times.best[key]
        print(f"  {key:38s} {t * 1e3:8.4f} ms {p.flops / t / gb:6.1f} GFLOP/s "
              f"{p.nbytes / t / gb:6.1f} GB/s  {name}" + ("" if p.needed else "  (dA0)"))

    print(f"\n{'loop (ms per iteration)':34s} {'ms/it':>8s} {'(median)':>9s} {'products':>8s} "
          f"{'traffic':>7s} {'limit':>8s} {'ratio':>6s} {'needed':>8s} {'ratio':>6s}")
    suspicious = []
    for loop, variant, timing, products, nbytes in rows:
        traffic = 3 * nbytes / bandwidth.copy_best
        label = loop.name if variant.label == "reference" else f"  {variant.label}"
        prod = times.seconds(products)
        limit, need = prod + traffic, times.seconds(products, needed_only=True) + traffic
        ms = timing.best() * 1e3
        if ms < limit * 1e3:
            suspicious.append(label.strip())
        print(f"{label:34s} {ms:8.3f} {f'({timing.median() * 1e3:.3f})':>9s} "
              f"{prod * 1e3:8.3f} {traffic * 1e3:7.4f} {limit * 1e3:8.3f} "
              f"{ms / (limit * 1e3):6.2f} {need * 1e3:8.3f} {ms / (need * 1e3):6.2f}"
              + ("  noisy" if timing.noisy() else ""))
    print(f"ratio = ms/it / limit, goal <= {GOAL}; limit = products + traffic; 'needed' leaves "
          "out dA0,\nwhich training does not use. Variants: benchmark only, see the docstring. "
          f"noisy: median > {NOISY} x best.")
    if suspicious:
        print(f"WARNING: ratio below 1 for {suspicious}: the load changed between the loop and "
              "its products; rerun on an idle machine (or with --threads 1)")

    if not args.no_variants:
        print(f"\n{'proposed change':52s} {'before':>8s} {'after':>8s} {'saving':>7s} "
              f"{'identical':>9s}")
        print("(ms per iteration, best repeats; a saving between noisy timings may be load)")
        for loop in all_loops:
            ref = next(r for r in rows if r[0] is loop and r[1].label == "reference")
            for r in rows:
                if r[0] is not loop or r[1].label == "reference":
                    continue
                before, after = ref[2].best() * 1e3, r[2].best() * 1e3
                same = not any(f.startswith(f"{loop.name} / {r[1].label}:") for f in failures)
                patches = r[1].patches
                title = " + ".join(p.key for p in patches) + ": " + (
                    patches[0].title if len(patches) == 1 else "together")
                noisy = "  noisy" if ref[2].noisy() or r[2].noisy() else ""
                print(f"{loop.name.split(' [')[0] + ', ' + title:52.52s} {before:8.3f} "
                      f"{after:8.3f} {100 * (1 - after / before):6.1f}% {str(same):>9s}{noisy}")

    print("\nbit-identity (np.array_equal on all parameters and costs): "
          + ("all checks passed" if not failures else f"{len(failures)} FAILED"))
    for f in failures:
        print(f"  FAILED {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
