"""The class of the similarity tests (tests/grader/test_similarity.py): solutions of
02_logistic_regression written for them, and helpers that place them in released notebooks.

ann writes her own solution; cat is ann's code with other names and comments and its
independent lines swapped (and a comment that tries to break out of the HTML page); dan and
eve are independent correct solutions written differently on purpose (checked against the
reference solutions in the tests).
"""

import json
import shutil
import textwrap

from dlgrader import grading

A = "02_logistic_regression"
NB = "logistic_regression.ipynb"

# ann: her own solution, close to the reference
ANN = {
    "sizes_solution": """
        m_train = train_set_x_orig.shape[0]
        m_test = test_set_x_orig.shape[0]
        num_px = train_set_x_orig.shape[1]
    """,
    "flatten_solution": """
        train_set_x_flatten = train_set_x_orig.reshape(train_set_x_orig.shape[0], -1).T
        test_set_x_flatten = test_set_x_orig.reshape(test_set_x_orig.shape[0], -1).T
    """,
    "standardize_solution": """
        train_set_x = train_set_x_flatten / 255.
        test_set_x = test_set_x_flatten / 255.
    """,
    "sigmoid_solution": """
        s = 1 / (1 + np.exp(-z))
    """,
    "initialize_with_zeros_solution": """
        w = np.zeros((dim, 1))
        b = 0.0
    """,
    "propagate_solution": """
        m = X.shape[1]
        # forward: activations of every example
        A = sigmoid(np.dot(w.T, X) + b)
        cost = -(1 / m) * np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A))
        # backward
        dZ = A - Y
        dw = (1 / m) * np.dot(X, dZ.T)
        db = (1 / m) * np.sum(dZ)
    """,
    "optimize_solution": """
        grads, cost = propagate(w, b, X, Y)
        dw = grads["dw"]
        db = grads["db"]
        w = w - learning_rate * dw
        b = b - learning_rate * db
    """,
    "predict_solution": """
        A = sigmoid(np.dot(w.T, X) + b)
        Y_prediction = np.zeros((1, X.shape[1]))
        for i in range(A.shape[1]):
            Y_prediction[0, i] = 1.0 if A[0, i] > 0.5 else 0.0
    """,
    "model_solution": """
        w, b = initialize_with_zeros(X_train.shape[0])
        params, grads, costs = optimize(w, b, X_train, Y_train, num_iterations,
                                        learning_rate, print_cost)
        w = params["w"]
        b = params["b"]
        Y_prediction_test = predict(w, b, X_test)
        Y_prediction_train = predict(w, b, X_train)
    """,
}

# cat: ann's code with other names and comments, independent lines swapped
CAT = {
    "sizes_solution": """
        num_px = train_set_x_orig.shape[1]
        m_train = train_set_x_orig.shape[0]
        m_test = test_set_x_orig.shape[0]
    """,
    "flatten_solution": """
        test_set_x_flatten = test_set_x_orig.reshape(test_set_x_orig.shape[0], -1).T
        train_set_x_flatten = train_set_x_orig.reshape(train_set_x_orig.shape[0], -1).T
    """,
    "standardize_solution": """
        test_set_x = test_set_x_flatten / 255.
        train_set_x = train_set_x_flatten / 255.
    """,
    "sigmoid_solution": """
        s = 1 / (1 + np.exp(-z))  # squash
    """,
    "initialize_with_zeros_solution": """
        b = 0.0
        w = np.zeros((dim, 1))
    """,
    "propagate_solution": """
        # predictions first </pre><script>alert("copied")</script>
        probs = sigmoid(np.dot(w.T, X) + b)
        n_examples = X.shape[1]
        cost = -(1 / n_examples) * np.sum(Y * np.log(probs) + (1 - Y) * np.log(1 - probs))
        residual = probs - Y   # gradient of the cost wrt z
        db = (1 / n_examples) * np.sum(residual)
        dw = (1 / n_examples) * np.dot(X, residual.T)
    """,
    "optimize_solution": """
        grads, cost = propagate(w, b, X, Y)   # one pass
        grad_b = grads["db"]
        grad_w = grads["dw"]
        b = b - learning_rate * grad_b
        w = w - learning_rate * grad_w
    """,
    "predict_solution": """
        probs = sigmoid(np.dot(w.T, X) + b)
        Y_prediction = np.zeros((1, X.shape[1]))
        for col in range(probs.shape[1]):
            Y_prediction[0, col] = 1.0 if probs[0, col] > 0.5 else 0.0
    """,
    "model_solution": """
        weights, bias = initialize_with_zeros(X_train.shape[0])
        learned, last_grads, costs = optimize(weights, bias, X_train, Y_train, num_iterations,
                                              learning_rate, print_cost)
        b = learned["b"]
        w = learned["w"]
        Y_prediction_train = predict(w, b, X_train)
        Y_prediction_test = predict(w, b, X_test)
    """,
}

# dan: an independent solution, the @ operator and means
DAN = {
    "sizes_solution": """
        m_train, num_px = train_set_x_orig.shape[:2]
        m_test = len(test_set_x_orig)
    """,
    "flatten_solution": """
        train_set_x_flatten = np.stack([img.ravel() for img in train_set_x_orig], axis=1)
        test_set_x_flatten = np.stack([img.ravel() for img in test_set_x_orig], axis=1)
    """,
    "standardize_solution": """
        pair = (train_set_x_flatten, test_set_x_flatten)
        train_set_x, test_set_x = (a.astype(float) / 255 for a in pair)
    """,
    "sigmoid_solution": """
        s = np.exp(-np.logaddexp(0, -z))
    """,
    "initialize_with_zeros_solution": """
        w = np.zeros(dim).reshape(dim, 1)
        b = float(0)
    """,
    "propagate_solution": """
        Z = w.T @ X + b
        A = sigmoid(Z)
        losses = Y * np.log(A) + (1 - Y) * np.log(1 - A)
        cost = -np.mean(losses)
        diff = A - Y
        dw = X @ diff.T / X.shape[1]
        db = float(np.mean(diff))
    """,
    "optimize_solution": """
        g, cost = propagate(w, b, X, Y)
        w, b = w - learning_rate * g["dw"], b - learning_rate * g["db"]
        grads = g
    """,
    "predict_solution": """
        Y_prediction = np.where(sigmoid(w.T @ X + b) > 0.5, 1.0, 0.0)
    """,
    "model_solution": """
        n_x = X_train.shape[0]
        trained, _, costs = optimize(*initialize_with_zeros(n_x), X_train, Y_train,
                                     num_iterations=num_iterations,
                                     learning_rate=learning_rate, print_cost=print_cost)
        w, b = trained["w"], trained["b"]
        Y_prediction_train, Y_prediction_test = (predict(w, b, data) for data in (X_train, X_test))
    """,
}

# eve: an independent solution, sums over axes and explicit steps
EVE = {
    "sizes_solution": """
        shape_train, shape_test = train_set_x_orig.shape, test_set_x_orig.shape
        m_train, m_test, num_px = shape_train[0], shape_test[0], shape_train[1]
    """,
    "flatten_solution": """
        n_features = num_px * num_px * 3
        train_set_x_flatten = train_set_x_orig.reshape(m_train, n_features).transpose()
        test_set_x_flatten = test_set_x_orig.reshape(m_test, n_features).transpose()
    """,
    "standardize_solution": """
        scale = 1.0 / 255
        train_set_x = scale * train_set_x_flatten
        test_set_x = scale * test_set_x_flatten
    """,
    "sigmoid_solution": """
        s = 0.5 * (1 + np.tanh(0.5 * z))
    """,
    "initialize_with_zeros_solution": """
        w = np.full((dim, 1), 0.0)
        b = 0.
    """,
    "propagate_solution": """
        n_samples = Y.shape[1]
        logits = (X * w).sum(axis=0, keepdims=True) + b
        A = sigmoid(logits)
        picked = np.where(Y == 1, A, 1 - A)
        cost = -np.log(picked).sum() / n_samples
        error = A - Y
        dw = (X * error).sum(axis=1, keepdims=True) / n_samples
        db = error.sum() / n_samples
    """,
    "optimize_solution": """
        grads, cost = propagate(w, b, X, Y)
        step_w = learning_rate * grads["dw"]
        step_b = learning_rate * grads["db"]
        w, b = w - step_w, b - step_b
    """,
    "predict_solution": """
        A = sigmoid((X * w).sum(axis=0, keepdims=True) + b)
        Y_prediction = (A > 0.5) * 1.0
    """,
    "model_solution": """
        dim = X_train.shape[0]
        w0, b0 = initialize_with_zeros(dim)
        result = optimize(w0, b0, X_train, Y_train, num_iterations=num_iterations,
                          learning_rate=learning_rate, print_cost=print_cost)
        costs = result[2]
        w, b = result[0]["w"], result[0]["b"]
        Y_prediction_test = predict(w, b, X_test)
        Y_prediction_train = predict(w, b, X_train)
    """,
}

#: cat's comment in propagate that tries to break out of the side-by-side page
SCRIPT = '</pre><script>alert("copied")</script>'


def fill(template: str, body: str) -> str:
    """The released cell ``template`` with its stub (``# YOUR CODE HERE`` and the raise)
    replaced by ``body``, indented as the stub was."""
    lines = template.splitlines(keepends=True)
    i = next(n for n, line in enumerate(lines) if line.strip() == "# YOUR CODE HERE")
    assert "NotImplementedError" in lines[i + 1]
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    code = textwrap.indent(textwrap.dedent(body).strip("\n") + "\n", indent)
    return "".join(lines[:i]) + code + "".join(lines[i + 2:])


def notebook(solutions: dict[str, str], drop: tuple[str, ...] = ()) -> dict:
    """The released notebook (JSON) with ``solutions`` (grade_id -> body) filled in and the
    cells of ``drop`` (grade_ids) deleted."""
    nb = json.loads((grading.REPO / "release" / A / NB).read_text())
    cells = []
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in drop:
            continue
        if grade_id in solutions:
            cell["source"] = fill("".join(cell["source"]), solutions[grade_id])
        cells.append(cell)
    nb["cells"] = cells
    return nb


def solution_cells(kind: str, solutions: dict[str, str] | None = None) -> list[str]:
    """The solution cells' sources of the ``kind`` notebook (source/ or release/), in order;
    with ``solutions`` filled into the released ones."""
    nb = json.loads((grading.REPO / kind / A / NB).read_text())
    out = []
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            source = "".join(cell["source"])
            out.append(fill(source, solutions[meta["grade_id"]]) if solutions else source)
    return out


def course(root, submissions: dict[str, dict | bytes], name: str = NB):
    """A course folder: source/ and release/ of A, and ``submissions`` (student -> notebook
    JSON, or raw bytes) in submitted/<student>/A/``name``."""
    for kind in ("source", "release"):
        shutil.copytree(grading.REPO / kind / A, root / kind / A)
    for student, nb in submissions.items():
        folder = root / "submitted" / student / A
        folder.mkdir(parents=True)
        data = nb if isinstance(nb, bytes) else json.dumps(nb, indent=1).encode()
        (folder / name).write_bytes(data)
    return root
