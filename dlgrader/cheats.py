"""Static check of student cells for tampering with what the tests rely on (ast only, nothing runs).

nbgrader restores locked cells before autograding but runs the student's cells as written, so a
student cell can patch numpy, ``dlutils.checks`` or a built-in before a test cell runs. This
module reads the student cells (solution cells and added cells) and reports, with a line and a
reason an instructor can read:

- rebinding a protected name at notebook level (assignment, def, class, import, for, with,
  except-as, walrus, del): the modules numpy/np, math, dlutils, dlgrader, builtins, sys, os,
  importlib, inspect, gc, ctypes, copy; names a locked cell imports or defines; a name a locked
  cell assigns when a later locked cell still reads it; the built-ins in ``ALWAYS_BUILTINS``
  (other built-ins only when a later locked cell uses them); ``global`` of such a name;
  star imports;
- setting or deleting an attribute of a protected object (modules, following aliases such as
  ``import numpy as xx`` or ``m = np``), in functions too, and setting a comparison hook;
- exec, eval, compile, __import__, globals, vars(), locals() at notebook level or written into,
  __builtins__, ``__dict__`` of a protected object, setattr/delattr on one, getattr on one with a
  computed name, type(name, bases, dict), importlib.import_module with a computed name;
- interpreter hooks (``HOOKS``: sys.modules, frames, tracing, gc, reload, os._exit, signals,
  atexit, pickle.loads), frame and function internals (``INTERNAL_ATTRS``), get_ipython, ctypes;
- a student class defining one of ``HOOK_DUNDERS`` (it can make a returned object pass a check);
- ``%run`` and cell magics that run code this check cannot read (``%%writefile``, ``%%bash``...),
  and imports of modules that are neither standard library nor course packages.

Not flagged on purpose (false positives cost instructor time): anything local to a function;
calls such as ``np.random.seed``, ``np.set_printoptions``, ``np.seterr`` and ``np.errstate`` (the
tests that care set their own state with ``np.errstate``); item writes into ``ITEM_WRITES_OK``
(``os.environ``, ``plt.rcParams``); arithmetic dunders (check_close converts with ``float`` or
``__array__`` first); shell escapes (``!cmd``) and other magics. Not seen: mutation through
methods (``x.fill(0)``), objects reached through a student function's return value, code in
files the notebook writes and then runs. A cell that does not parse is skipped: it fails when run.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat

ALWAYS_MODULES = {"numpy": "numpy", "np": "numpy", "math": "math", "dlutils": "dlutils",
                  "dlgrader": "dlgrader",
                  "builtins": "builtins", "sys": "sys", "os": "os", "importlib": "importlib",
                  "inspect": "inspect", "gc": "gc", "ctypes": "ctypes", "copy": "copy"}
ITEM_WRITES_OK = {"os.environ", "matplotlib.rcParams", "matplotlib.pyplot.rcParams"}
KNOWN_PACKAGES = {"numpy", "scipy", "matplotlib", "mpl_toolkits", "PIL", "h5py", "sklearn",
                  "pandas", "tqdm", "dlutils", "dlgrader", "IPython", "imageio", "skimage",
                  "seaborn"}
BANNED_MODULES = {"ctypes": "raw memory access", "_ctypes": "raw memory access",
                  "cffi": "raw memory access", "code": "runs code from strings",
                  "codeop": "compiles code from strings", "runpy": "runs hidden code",
                  "marshal": "loads code objects", "ipykernel": "kernel internals"}
ALWAYS_BUILTINS = {n for n, v in vars(builtins).items()
                   if isinstance(v, type) and issubclass(v, BaseException)} | {
    "isinstance", "issubclass", "hasattr", "getattr", "setattr", "delattr", "callable", "super",
    "type", "object", "__import__", "exec", "eval", "compile", "globals", "locals", "vars"}
DYNAMIC = {"exec": "runs code from a string (exec)", "eval": "evaluates a string (eval)",
           "compile": "compiles code from a string (compile)",
           "__import__": "imports a module dynamically (__import__)",
           "globals": "reaches the notebook namespace (globals())"}
HOOKS = {
    **dict.fromkeys(["sys.modules", "sys.meta_path", "sys.path_hooks"],
                    "tampers with imported modules"),
    **dict.fromkeys(["sys._getframe", "sys._current_frames", "inspect.currentframe",
                     "inspect.stack", "inspect.trace", "inspect.getouterframes"],
                    "reads interpreter frames"),
    **dict.fromkeys(["sys.settrace", "sys.setprofile", "threading.settrace",
                     "threading.setprofile", "sys.addaudithook"], "installs a tracing hook"),
    **dict.fromkeys(["gc.get_referrers", "gc.get_referents", "gc.get_objects"],
                    "searches live objects"),
    **dict.fromkeys(["os._exit", "os.kill", "os.abort"], "kills the kernel"),
    **dict.fromkeys(["signal.signal", "signal.alarm", "signal.setitimer"],
                    "installs a signal handler"),
    "importlib.reload": "reloads a module", "atexit.register": "registers code to run at exit",
    "pickle.loads": "unpickles bytes, which can run hidden code",
}
INTERNAL_ATTRS = {"__globals__", "__builtins__", "__closure__", "__code__", "__subclasses__",
                  "f_globals", "f_locals", "f_builtins", "f_back", "tb_frame", "gi_frame",
                  "cr_frame", "ag_frame"}
HOOK_DUNDERS = {"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__",
                "__float__", "__int__", "__index__", "__complex__", "__array__",
                "__array_function__", "__array_ufunc__", "__array_priority__",
                "__array_interface__", "__array_struct__", "__array_wrap__",
                "__array_finalize__", "__getattr__", "__getattribute__", "__instancecheck__",
                "__subclasscheck__", "__class__"}
CODE_LINE_MAGICS = {"time", "timeit", "prun"}
PY_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
RISKY_CELL_MAGICS = {"writefile", "file", "bash", "sh", "script", "system", "!", "python",
                     "python2", "python3", "pypy", "perl", "ruby"}
_HELP = re.compile(r"^\?*[\w.]+\?{0,2}$")
_OPTIONS = re.compile(r"^(-\w+(\s+\d+)?\s+)*")  # -n 10 -r 3 of %timeit
_SHELL_ASSIGN = re.compile(r"^([\w., ]+)=\s*[!%]")
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
Ref = tuple[str, str]  # (kind, path); kind: "module", "code", "data" or "builtin"


@dataclass(frozen=True)
class Finding:
    """One suspicious construct in a student cell."""

    cell_index: int
    grade_id: str | None
    line: int
    reason: str


def _meta(cell: nbformat.NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _is_locked(cell: nbformat.NotebookNode) -> bool:
    meta = _meta(cell)
    return bool(meta.get("locked")) or (bool(meta.get("grade")) and not meta.get("solution"))


def student_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Indices of the code cells nbgrader runs as the student wrote them."""
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and not _is_locked(c)]


def _parse(source: str) -> tuple[ast.Module | None, list[tuple[int, str]]]:
    """The cell as Python (IPython magics and shell lines neutralised) and magic findings."""
    try:
        return ast.parse(source), []
    except SyntaxError:
        pass
    lines, found = source.split("\n"), []
    if lines[0].startswith("%%"):
        name = (lines[0][2:].split() or [""])[0]
        if name in RISKY_CELL_MAGICS:
            return None, [(1, f"runs the cell with %%{name}, code this check cannot read")]
        if name not in PY_CELL_MAGICS:
            return None, []
        rest = lines[0][2 + len(name):]  # %%timeit's own line is set-up code
        lines[0] = _OPTIONS.sub("", rest.strip()) if name in CODE_LINE_MAGICS else ""
    for n, line in enumerate(lines):
        body = line.lstrip()
        indent = line[: len(line) - len(body)]
        magic = re.match(r"%(\w+)\s*(.*)", body)
        if magic and magic[1] in CODE_LINE_MAGICS:
            lines[n] = indent + _OPTIONS.sub("", magic[2])
        elif magic and magic[1] == "run":
            found.append((n + 1, "runs another file with %run, code this check cannot read"))
            lines[n] = indent + "pass"
        elif body.startswith(("%", "!")) or (body and _HELP.match(body) and "?" in body):
            lines[n] = indent + "pass"
        elif assign := _SHELL_ASSIGN.match(body):
            lines[n] = indent + assign[1] + "= None"
    try:
        return ast.parse("\n".join(lines)), found
    except SyntaxError:
        return None, found


def _walk_scope(nodes: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """Nodes of one scope: yields nested defs, lambdas and classes without entering them."""
    stack = list(nodes)[::-1]
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _SCOPES):
            kids = ([node.iter, *node.ifs] if isinstance(node, ast.comprehension)
                    else list(ast.iter_child_nodes(node)))
            stack.extend(reversed(kids))


def _bound(node: ast.AST) -> Iterator[str]:
    """Names a scope-level node binds."""
    if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
        yield node.id
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield node.name
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        yield from (a.asname or a.name.split(".")[0] for a in node.names if a.name != "*")
    elif isinstance(node, ast.ExceptHandler) and node.name:
        yield node.name


def _imports(node: ast.AST) -> Iterator[tuple[str, Ref]]:
    """(bound name, module path) of each name an absolute import binds."""
    if isinstance(node, ast.Import):
        for a in node.names:
            root = a.name.split(".")[0]
            yield a.asname or root, ("module", a.name if a.asname else root)
    elif isinstance(node, ast.ImportFrom) and not node.level:
        yield from ((a.asname or a.name, ("module", f"{node.module}.{a.name}"))
                    for a in node.names if a.name != "*")


def _local_names(node: ast.AST) -> set[str]:
    """Names local to a function, lambda or class body."""
    names: set[str] = set()
    if isinstance(node, ast.ClassDef):
        body: list[ast.AST] = list(node.body)
    else:
        a = node.args
        names = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x}
        body = [node.body] if isinstance(node, ast.Lambda) else list(node.body)
    declared: set[str] = set()
    for sub in _walk_scope(body):
        names.update(_bound(sub))
        if isinstance(sub, (ast.Global, ast.Nonlocal)):
            declared.update(sub.names)
    return names - declared


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _chain_ref(node: ast.AST, lookup: Callable[[str], Ref | None]) -> Ref | None:
    """What a name, an attribute chain or ``importlib.import_module("m")`` stands for."""
    if isinstance(node, ast.Name):
        return lookup(node.id)
    if isinstance(node, ast.Attribute):
        ref = _chain_ref(node.value, lookup)
        return (ref[0], f"{ref[1]}.{node.attr}") if ref and ref[0] in ("module", "code") else None
    if isinstance(node, ast.Call) and len(node.args) == 1 and (name := _literal(node.args[0])):
        if _chain_ref(node.func, lookup) == ("module", "importlib.import_module"):
            return "module", name
    return None


def _base_names(node: ast.AST) -> Iterator[ast.Name]:
    """The names an attribute/item target hangs on (``a`` in ``a.b[i].c``, ``np`` in f(np).x)."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        if isinstance(node, ast.Call):
            for arg in node.args:
                yield from _base_names(arg)
            node = node.func
        else:
            node = node.value
    yield from (n for n in ast.walk(node) if isinstance(n, ast.Name))


class _Scoped(ast.NodeVisitor):
    """A visitor that knows which names are local where it stands."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, set[str]]] = []

    def _push(self, kind: str, names: set[str], body: Iterable[ast.AST]) -> None:
        self.scopes.append((kind, names))
        for node in body:
            self.visit(node)
        self.scopes.pop()

    def is_local(self, name: str) -> bool:
        last = len(self.scopes) - 1
        return any(name in names and (kind != "class" or i == last)
                   for i, (kind, names) in enumerate(self.scopes))

    def module_level(self, name: str = "") -> bool:
        return all(kind == "comp" and name not in names for kind, names in self.scopes)

    def on_def(self, node: ast.AST) -> None:
        """Hook for subclasses: a def or class statement."""

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.on_def(node)
        for sub in [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]:
            if sub is not None:
                self.visit(sub)
        self._push("function", _local_names(node), node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for sub in [*node.args.defaults, *node.args.kw_defaults]:
            if sub is not None:
                self.visit(sub)
        self._push("lambda", _local_names(node), [node.body])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.on_def(node)
        for sub in [*node.decorator_list, *node.bases, *node.keywords]:
            self.visit(sub)
        self._push("class", _local_names(node), node.body)

    def _comprehension(self, node: ast.AST) -> None:
        targets = {n.id for g in node.generators for n in ast.walk(g.target)
                   if isinstance(n, ast.Name)}
        self._push("comp", targets, ast.iter_child_nodes(node))

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension


class _Reads(_Scoped):
    """Names a locked statement reads now (``now``) and from function bodies later (``later``)."""

    def __init__(self) -> None:
        super().__init__()
        self.now: set[str] = set()
        self.later: set[str] = set()

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load) and not self.is_local(node.id):
            deferred = any(kind == "function" for kind, _ in self.scopes)
            (self.later if deferred else self.now).add(node.id)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name) and not self.is_local(node.target.id):
            self.now.add(node.target.id)
        self.generic_visit(node)


class _Model:
    """What the locked cells provide and read, and the aliases student cells create."""

    def __init__(self, nb: nbformat.NotebookNode, extra: Iterable[str] = ()) -> None:
        self.nb, self.extra = nb, set(extra)
        self.parsed = {i: _parse(c.source) for i, c in enumerate(nb.cells)
                       if c.cell_type == "code"}
        self.bindings: dict[str, Ref] = {}
        self.data: dict[str, list[int]] = {}
        self.early: dict[int, set[str]] = {}
        self.kills: dict[int, set[str]] = {}
        self.deferred: dict[str, int] = {}
        self.locked = [i for i in self.parsed if _is_locked(nb.cells[i])]
        for i in self.locked:
            self._read_locked(i)
        self.roots = set(ALWAYS_MODULES.values()) | {
            path.split(".")[0] for kind, path in self.bindings.values() if kind == "module"}
        self.aliases: dict[str, Ref] = {}
        trees = [self.parsed[i][0] for i in student_cells(nb) if self.parsed[i][0]]
        for _ in range(2):
            for node in (n for tree in trees for n in ast.walk(tree)):
                self._alias(node)

    def _read_locked(self, i: int) -> None:
        tree = self.parsed[i][0]
        early, bound = set(), set()
        for stmt in tree.body if tree else []:
            reads = _Reads()
            reads.visit(stmt)
            early |= reads.now - bound
            for name in reads.later:
                self.deferred.setdefault(name, i)
            for node in _walk_scope([stmt]):
                imported = dict(_imports(node))
                for name in _bound(node):
                    bound.add(name)
                    if name in imported:
                        self.bindings[name] = imported[name]
                    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        self.bindings[name] = ("code", name)
                    else:
                        self.data.setdefault(name, []).append(i)
        self.early[i], self.kills[i] = early, bound

    def _alias(self, node: ast.AST) -> None:
        self.aliases.update(_imports(node))
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and node.value:
            ref = self.expr_ref(node.value)
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if ref and isinstance(target, ast.Name):
                    self.aliases[target.id] = ref

    def expr_ref(self, node: ast.AST) -> Ref | None:
        """The module, locked object or built-in an expression stands for (globally)."""
        ref = _chain_ref(node, lambda name: self.aliases.get(name) or self.base_ref(name))
        return ref if ref and ref[0] != "data" else None

    def base_ref(self, name: str) -> Ref | None:
        """What a notebook-level name means before any student cell runs."""
        if name in self.bindings:
            return self.bindings[name]
        if name in self.extra:
            return "code", name
        if name in ALWAYS_MODULES:
            return "module", ALWAYS_MODULES[name]
        if name in self.data:
            return "data", name
        return ("builtin", name) if hasattr(builtins, name) else None

    def label(self, i: int) -> str:
        gid = _meta(self.nb.cells[i]).get("grade_id")
        return repr(gid) if gid else f"#{i}"

    def reader(self, name: str, after: int) -> str | None:
        """The locked cell that reads ``name``'s value as left after cell ``after``, if any."""
        for j in (j for j in self.locked if j > after):
            if name in self.early[j]:
                return self.label(j)
            if name in self.kills[j]:
                return None
        return self.label(self.deferred[name]) if name in self.deferred else None

    def watched(self, name: str, at: int) -> str | None:
        """The reader of locked data ``name`` if cell ``at`` changing it would matter."""
        if any(j < at for j in self.data.get(name, [])):
            return self.reader(name, at)
        return None


class _CellScanner(_Scoped):
    """Flags tampering in one student cell."""

    def __init__(self, model: _Model, index: int) -> None:
        super().__init__()
        self.m, self.index = model, index
        self.found: list[tuple[int, str]] = []
        self.called: set[int] = set()

    def flag(self, node: ast.AST, reason: str) -> None:
        self.found.append((getattr(node, "lineno", 1), reason))

    def resolve(self, name: str) -> Ref | None:
        if self.is_local(name):
            return self.m.aliases.get(name)
        return self.m.aliases.get(name) or self.m.base_ref(name)

    def dotted(self, node: ast.AST) -> str | None:
        ref = _chain_ref(node, self.resolve)
        return ref[1] if ref and ref[0] == "module" else None

    def protection(self, ref: Ref | None) -> str | None:
        """How an object is protected, in words, or None."""
        if ref is None:
            return None
        kind, path = ref
        if kind == "module":
            return path if path.split(".")[0] in self.m.roots else None
        if kind == "code":
            return f"{path!r} (defined in a locked cell)"
        if kind == "data" and (reader := self.m.watched(path, self.index)):
            return f"{path!r} (read by locked cell {reader})"
        return None

    def protected_base(self, node: ast.AST) -> tuple[Ref, str] | None:
        """The first protected object ``node`` hangs on, and how it is protected."""
        for name in _base_names(node):
            ref = self.resolve(name.id)
            if ref and (what := self.protection(ref)):
                return ref, what
        return None

    def protected_root(self, node: ast.AST) -> str | None:
        found = self.protected_base(node)
        return found[1] if found else None

    def check_path(self, node: ast.AST, path: str) -> None:
        last = path.rsplit(".", 1)[-1]
        if path in HOOKS:
            self.flag(node, f"{HOOKS[path]} ({path})")
        elif path.split(".")[0] in ("ctypes", "_ctypes"):
            self.flag(node, f"uses ctypes, raw memory access ({path})")
        elif path.startswith("builtins.") and last in DYNAMIC:
            self.flag(node, DYNAMIC[last])
        elif last in ("get_ipython", "InteractiveShell"):
            self.flag(node, f"uses the IPython shell ({last}), which controls how tests run")

    def check_module(self, node: ast.AST, module: str) -> None:
        root = module.split(".")[0]
        if root in BANNED_MODULES:
            self.flag(node, f"imports {module} ({BANNED_MODULES[root]})")
        elif root == "IPython" and module not in ("IPython", "IPython.display"):
            self.flag(node, f"imports IPython internals ({module})")
        elif root not in sys.stdlib_module_names | KNOWN_PACKAGES | self.m.roots:
            self.flag(node, f"imports {module!r}, neither standard nor a course package "
                            "(its code is not checked)")

    def rebind(self, node: ast.AST, name: str, verb: str, new: Ref | None = None) -> None:
        ref = self.m.base_ref(name)
        if ref is None or ref == new:
            return
        kind, path = ref
        if kind == "module":
            why = (f"which a locked cell imports ({path})" if name in self.m.bindings
                   else f"the {path} module")
        elif kind == "code":
            why = "which a locked cell defines"
        elif kind == "data":
            if not (reader := self.m.watched(name, self.index)):
                return
            why = f"which locked cell {reader} reads"
        else:
            reader = self.m.reader(name, self.index)
            if name not in ALWAYS_BUILTINS and not reader:
                return
            why = "a built-in" + (f" that locked cell {reader} uses" if reader else "")
        self.flag(node, f"{verb} {name!r}, {why}")

    def store(self, node: ast.Attribute | ast.Subscript) -> None:
        """Flag writing or deleting an attribute or item of a protected object."""
        deleting = isinstance(node.ctx, ast.Del)
        src, owner = ast.unparse(node), self.dotted(node.value)
        if isinstance(node, ast.Attribute) and node.attr in HOOK_DUNDERS:
            self.flag(node, f"sets {node.attr} on {ast.unparse(node.value)}, which can fake "
                            "comparisons")
        elif (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Call)
                and self.builtin(node.value.func) in ("locals", "vars")):
            self.flag(node, f"writes into {self.builtin(node.value.func)}()")
        elif not (found := self.protected_base(node.value)) or owner in ITEM_WRITES_OK:
            return
        elif isinstance(node, ast.Attribute) and found[0][0] == "module":
            verb = "deletes" if deleting else "rebinds"
            self.flag(node, f"{verb} {owner or found[1]} attribute {src}")
        else:
            self.flag(node, f"{'deletes' if deleting else 'sets'} {src}, on {found[1]}")

    def builtin(self, node: ast.AST) -> str | None:
        """The built-in function an expression stands for (``f`` after ``f = setattr``)."""
        kind, path = _chain_ref(node, self.resolve) or ("", "")
        if kind == "module" and path.startswith("builtins."):
            return path.removeprefix("builtins.")
        return path if kind == "builtin" else None

    def on_def(self, node: ast.AST) -> None:
        if self.module_level(node.name):
            self.rebind(node, node.name, "redefines")
        if isinstance(node, ast.ClassDef):
            hooks = sorted(_local_names(node) & HOOK_DUNDERS)
            if hooks:
                self.flag(node, f"class {node.name} defines {', '.join(hooks)}, which can make "
                                "a returned object fool comparisons or NumPy checks")

    def visit_Name(self, node: ast.Name) -> None:
        name, ref = node.id, self.resolve(node.id)
        if name == "__builtins__":
            self.flag(node, "uses __builtins__, the built-in namespace")
        elif not isinstance(node.ctx, ast.Load):
            if self.module_level(name):
                self.rebind(node, name, "deletes" if isinstance(node.ctx, ast.Del) else "rebinds")
        elif ref == ("builtin", name) and name in DYNAMIC:
            self.flag(node, DYNAMIC[name])
        elif self.builtin(node) in ("setattr", "delattr") and id(node) not in self.called:
            self.flag(node, f"passes {self.builtin(node)} around, which can patch objects unseen")
        elif ref and ref[0] == "module":
            self.check_path(node, ref[1])
        elif name == "get_ipython" and ref is None:
            self.check_path(node, name)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        path = self.dotted(node)
        if path:
            self.check_path(node, path)
        if node.attr in INTERNAL_ATTRS:
            self.flag(node, f"reaches interpreter internals ({node.attr})")
        elif node.attr in ("get_ipython", "InteractiveShell") and not path:
            self.check_path(node, node.attr)
        elif node.attr in ("__dict__", "__setattr__", "__delattr__") and (
                what := self.protected_root(node.value)):
            self.flag(node, f"uses {node.attr} of {what}")
        if not isinstance(node.ctx, ast.Load):
            self.store(node)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if not isinstance(node.ctx, ast.Load):
            self.store(node)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name, args, func = self.builtin(node.func), node.args, node.func
        first = self.protected_root(args[0]) if args else None
        second = _literal(args[1]) if len(args) > 1 else None
        if name in ("setattr", "delattr") and first:
            self.flag(node, f"calls {name} on {first}")
        elif name in ("setattr", "delattr") and second in HOOK_DUNDERS:
            self.flag(node, f"sets {second} with {name}, which can fake comparisons")
        elif name == "getattr" and first and len(args) > 1:
            if second is None:
                self.flag(node, f"looks up an attribute of {first} by a computed name (getattr)")
            elif second in INTERNAL_ATTRS | {"__dict__"}:
                self.flag(node, f"reaches {second} of {first} with getattr")
        elif name == "vars" and (not args or first):
            self.flag(node, "reads a namespace with vars()")
        elif name == "locals" and self.module_level():
            self.flag(node, "uses locals() at notebook level, the same as globals()")
        elif name == "type" and len(args) == 3:
            self.flag(node, "builds a class at run time with type(name, bases, dict)")
        if self.dotted(func) == "importlib.import_module" and not all(map(_literal, args)):
            self.flag(node, "imports a module by a computed name (importlib.import_module)")
        if isinstance(func, ast.Attribute):
            if func.attr in ("__setattr__", "__delattr__") and any(map(self.protected_root, args)):
                self.flag(node, f"calls {func.attr} on a protected object")
            if (func.attr in ("update", "setdefault", "pop", "clear", "__setitem__")
                    and isinstance(func.value, ast.Call) and self.builtin(func.value.func)
                    in ("locals", "vars")):
                self.flag(node, f"writes into {self.builtin(func.value.func)}()")
        self.called.add(id(func))
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        for name in node.names:
            if self.m.base_ref(name):
                self.flag(node, f"declares {name!r} global in a function, so calling it can "
                                "rebind a protected name")

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self.check_module(node, a.name)
        self.rebind_imports(node)

    def rebind_imports(self, node: ast.Import | ast.ImportFrom) -> None:
        for name, ref in _imports(node):
            if self.module_level(name):
                self.rebind(node, name, "rebinds", ref)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level:
            self.flag(node, "imports a local module (relative import), whose code is not checked")
        else:
            self.check_module(node, module)
        for a in node.names:
            if a.name == "*":
                self.flag(node, f"star import from {module}, which can rebind names tests use")
                continue
            self.check_path(node, f"{module}.{a.name}")
        self.rebind_imports(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name and self.module_level(node.name):
            self.rebind(node, node.name, "rebinds")
        self.generic_visit(node)


def scan_notebook(nb: nbformat.NotebookNode, extra_protected: Iterable[str] = ()
                  ) -> list[Finding]:
    """Findings in the student cells of ``nb``, in cell and line order."""
    model = _Model(nb, extra_protected)
    findings = []
    for i in student_cells(nb):
        tree, found = model.parsed[i]
        if tree is not None:
            scanner = _CellScanner(model, i)
            for stmt in tree.body:
                scanner.visit(stmt)
            found = found + scanner.found
        grade_id = _meta(nb.cells[i]).get("grade_id")
        findings += [Finding(i, grade_id, line, reason) for line, reason in sorted(set(found))]
    return findings


def protected_names(nb: nbformat.NotebookNode) -> set[str]:
    """Names locked cells bind at notebook level, plus the always-protected module names."""
    model = _Model(nb)
    return set(model.bindings) | set(model.data) | set(ALWAYS_MODULES) | {"__builtins__"}


def first_tampering_index(nb: nbformat.NotebookNode) -> int | None:
    """Index of the first cell with a finding, or None."""
    return min((f.cell_index for f in scan_notebook(nb)), default=None)


def main(argv: list[str] | None = None) -> int:
    """Print the findings of each notebook; 1 if any, 2 if a notebook cannot be read."""
    parser = argparse.ArgumentParser(prog="python -m dlgrader.cheats", description=__doc__
                                     .splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    status = 0
    for path in parser.parse_args(argv).notebooks:
        try:
            nb = nbformat.read(path, as_version=4)
        except (OSError, ValueError) as err:
            print(f"{path}: cannot read: {err}", file=sys.stderr)
            status = 2
            continue
        findings = scan_notebook(nb)
        for f in findings:
            print(f"{path}: cell {f.cell_index} ({f.grade_id or 'added cell'}), "
                  f"line {f.line}: {f.reason}")
        if not findings:
            print(f"{path}: no tampering found")
        status = max(status, 1 if findings else 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
