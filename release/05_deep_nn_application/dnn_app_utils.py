"""Building blocks of an L-layer neural network, for A5 "Deep neural network application".

GENERATED FILE - DO NOT EDIT. tools/build_dnn_app_utils.py writes it from the solution cells of

    source/04_deep_nn_step_by_step/deep_nn_step_by_step.ipynb

The functions marked "from A4" are A4's reference solutions, copied with only the solution
marker lines removed; the others (initialize_parameters, initialize_parameters_deep, predict)
are written in that script, because A5 differs from A4 there. To change anything, edit the A4
notebook or the script, then regenerate from the repository root:

    .venv/bin/python tools/build_dnn_app_utils.py

(--check only tests whether this file is up to date; the test suite runs it).

Shapes follow the course's column convention: X is (n_x, m), Y is (1, m), W_l is
(n_l, n_{l-1}), b_l is (n_l, 1).
"""

# ruff: noqa: E501  (lines copied from the A4 notebook, where line length is not enforced)

import copy

import numpy as np

from dlutils.activations import relu, relu_backward, sigmoid, sigmoid_backward

__all__ = [
    "initialize_parameters",
    "initialize_parameters_deep",
    "linear_forward",
    "linear_activation_forward",
    "L_model_forward",
    "compute_cost",
    "linear_backward",
    "linear_activation_backward",
    "L_model_backward",
    "update_parameters",
    "predict",
]


# -------------------------------------------------------------------------------------------------
# A5's initialisation (differs from A4: seed 1, and 1/sqrt(n_{l-1}) for the deep network)


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


# -------------------------------------------------------------------------------------------------
# The A4 building blocks


# from A4, cell linear_forward_solution
def linear_forward(A, W, b):
    """
    Linear part of a layer's forward propagation: Z = W A + b.

    Inputs:
    - A: activations of the previous layer (or the input X), (n_{l-1}, m)
    - W: weights of this layer, (n_l, n_{l-1})
    - b: bias of this layer, (n_l, 1)

    Returns a tuple of:
    - Z: pre-activation, (n_l, m)
    - cache: the tuple (A, W, b), for linear_backward
    """
    Z = np.dot(W, A) + b
    cache = (A, W, b)
    return Z, cache


# from A4, cell linear_activation_forward_solution
def linear_activation_forward(A_prev, W, b, activation):
    """
    Forward propagation of one layer: LINEAR -> ACTIVATION.

    Inputs:
    - A_prev: activations of the previous layer (or the input X), (n_{l-1}, m)
    - W: weights of this layer, (n_l, n_{l-1})
    - b: bias of this layer, (n_l, 1)
    - activation: "sigmoid" or "relu"

    Returns a tuple of:
    - A: activations of this layer, (n_l, m)
    - cache: the tuple (linear_cache, activation_cache), with linear_cache = (A_prev, W, b)
      and activation_cache = Z, for linear_activation_backward

    Raises ValueError for any other activation.
    """
    if activation == "sigmoid":
        Z, linear_cache = linear_forward(A_prev, W, b)
        A, activation_cache = sigmoid(Z)
    elif activation == "relu":
        Z, linear_cache = linear_forward(A_prev, W, b)
        A, activation_cache = relu(Z)
    else:
        raise ValueError(f"unknown activation {activation!r}: expected 'sigmoid' or 'relu'")
    cache = (linear_cache, activation_cache)
    return A, cache


# from A4, cell L_model_forward_solution
def L_model_forward(X, parameters):
    """
    Forward propagation of the network [LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID.

    Inputs:
    - X: input data, (n_0, m)
    - parameters: dict with "W1", "b1", ..., "WL", "bL" as made by initialize_parameters_deep

    Returns a tuple of:
    - AL: output of the last layer (the predicted probabilities), (1, m)
    - caches: list of the L caches of linear_activation_forward; caches[l - 1] is layer l's
    """
    caches = []
    A = X
    L = len(parameters) // 2
    for layer in range(1, L):
        A_prev = A
        A, cache = linear_activation_forward(
            A_prev, parameters["W" + str(layer)], parameters["b" + str(layer)], "relu")
        caches.append(cache)
    AL, cache = linear_activation_forward(
        A, parameters["W" + str(L)], parameters["b" + str(L)], "sigmoid")
    caches.append(cache)
    return AL, caches


# from A4, cell compute_cost_solution
def compute_cost(AL, Y):
    """
    Cross-entropy cost J = -(1/m) * sum(Y log(AL) + (1 - Y) log(1 - AL)).

    Inputs:
    - AL: predicted probabilities, (1, m)
    - Y: true labels, 0 or 1, (1, m)

    Returns cost, a 0-d value (a single number).
    """
    m = Y.shape[1]
    cost = -np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)) / m
    cost = np.squeeze(np.array(cost))  # a 0-d array, whatever the sum returned
    return cost


# from A4, cell linear_backward_solution
def linear_backward(dZ, cache):
    """
    Linear part of a layer's backward propagation.

    Inputs:
    - dZ: gradient with respect to this layer's pre-activation Z, (n_l, m)
    - cache: the tuple (A_prev, W, b) stored by linear_forward

    Returns a tuple of:
    - dA_prev: gradient with respect to the previous layer's activations, (n_{l-1}, m)
    - dW: gradient of the cost with respect to W, (n_l, n_{l-1})
    - db: gradient of the cost with respect to b, (n_l, 1)
    """
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = np.dot(dZ, A_prev.T) / m
    db = np.sum(dZ, axis=1, keepdims=True) / m
    dA_prev = np.dot(W.T, dZ)
    return dA_prev, dW, db


# from A4, cell linear_activation_backward_solution
def linear_activation_backward(dA, cache, activation):
    """
    Backward propagation of one layer: back through ACTIVATION, then through LINEAR.

    Inputs:
    - dA: gradient with respect to this layer's activations, (n_l, m)
    - cache: the tuple (linear_cache, activation_cache) stored by linear_activation_forward
    - activation: "sigmoid" or "relu", the activation this layer used

    Returns a tuple of:
    - dA_prev: gradient with respect to the previous layer's activations, (n_{l-1}, m)
    - dW: gradient of the cost with respect to W, (n_l, n_{l-1})
    - db: gradient of the cost with respect to b, (n_l, 1)

    Raises ValueError for any other activation.
    """
    linear_cache, activation_cache = cache
    if activation == "relu":
        dZ = relu_backward(dA, activation_cache)
    elif activation == "sigmoid":
        dZ = sigmoid_backward(dA, activation_cache)
    else:
        raise ValueError(f"unknown activation {activation!r}: expected 'sigmoid' or 'relu'")
    dA_prev, dW, db = linear_backward(dZ, linear_cache)
    return dA_prev, dW, db


# from A4, cell L_model_backward_solution
def L_model_backward(AL, Y, caches):
    """
    Backward propagation of the network [LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID.

    Inputs:
    - AL: output of L_model_forward, the predicted probabilities, (1, m)
    - Y: true labels, 0 or 1, (1, m)
    - caches: the list of L caches returned by L_model_forward; caches[l - 1] is layer l's

    Returns grads, a dict with, for l = 1, ..., L:
    - "dA{l-1}": gradient with respect to A^[l-1], (n_{l-1}, m)
    - "dW{l}": gradient of the cost with respect to W^[l], (n_l, n_{l-1})
    - "db{l}": gradient of the cost with respect to b^[l], (n_l, 1)
    """
    grads = {}
    L = len(caches)
    Y = Y.reshape(AL.shape)
    dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    dA_prev, dW, db = linear_activation_backward(dAL, caches[L - 1], "sigmoid")
    grads["dA" + str(L - 1)] = dA_prev
    grads["dW" + str(L)] = dW
    grads["db" + str(L)] = db
    for layer in range(L - 1, 0, -1):
        dA_prev, dW, db = linear_activation_backward(grads["dA" + str(layer)], caches[layer - 1], "relu")
        grads["dA" + str(layer - 1)] = dA_prev
        grads["dW" + str(layer)] = dW
        grads["db" + str(layer)] = db
    return grads


# from A4, cell update_parameters_solution
def update_parameters(params, grads, learning_rate):
    """
    One step of gradient descent on every W and b; params is not changed.

    Inputs:
    - params: dict with "W1", "b1", ..., "WL", "bL"
    - grads: dict with "dW1", "db1", ..., "dWL", "dbL" (it may hold the "dA..." entries too)
    - learning_rate: step size alpha

    Returns parameters, a new dict with the updated "W1", "b1", ..., "WL", "bL".
    """
    parameters = copy.deepcopy(params)
    L = len(parameters) // 2
    for layer in range(1, L + 1):
        parameters["W" + str(layer)] = parameters["W" + str(layer)] - learning_rate * grads["dW" + str(layer)]
        parameters["b" + str(layer)] = parameters["b" + str(layer)] - learning_rate * grads["db" + str(layer)]
    return parameters


# -------------------------------------------------------------------------------------------------
# A5's prediction


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
