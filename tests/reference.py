"""A float64 NumPy reference implementation of fastnet's networks, for the tests.

Written from the documented maths, independently of ``kernels/``: whole
matrices instead of per-sample loops, derivatives computed from z (not from the
stored activation), and output deltas built by the chain rule dC/da · da/dz
(with the full softmax Jacobian) rather than the kernels' a − y shortcut.
Dropout enters only as given masks (``masks``): the reference draws none.

Conventions match ``fastnet.Network``: ``weights[l]`` is (n_in, n_out),
``biases[l]`` is (n_out,), a layer computes Z = A @ W + b on a batch of rows.
Targets ``Y`` are (n, n_out) (one-hot rows for labels, see ``one_hot``).
"""
import numpy as np


def one_hot(y, n_out):
    """(n,) integer labels -> (n, n_out) float64 one-hot rows."""
    Y = np.zeros((len(y), n_out))
    Y[np.arange(len(y)), y] = 1.0
    return Y


# ------------------------------------------------------------- activations
def sigmoid(z):
    """1 / (1 + e^-z) without overflow: e^-|z| never exceeds 1."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softmax(Z):
    """Row-wise softmax of Z (n, k)."""
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def log_softmax(Z):
    """Row-wise log(softmax(Z)) through log-sum-exp."""
    top = Z.max(axis=1, keepdims=True)
    return Z - top - np.log(np.exp(Z - top).sum(axis=1, keepdims=True))


def activate(name, Z):
    """f(Z) for "sigmoid", "tanh", "relu", "linear" or "softmax" (row-wise)."""
    if name == "sigmoid":
        return sigmoid(Z)
    if name == "tanh":
        return np.tanh(Z)
    if name == "relu":
        return np.maximum(Z, 0.0)
    if name == "linear":
        return Z.copy()
    if name == "softmax":
        return softmax(Z)
    raise ValueError(name)


def derivative(name, Z):
    """f'(Z) element-wise for the element-wise activations, from Z itself."""
    if name == "sigmoid":
        s = sigmoid(Z)
        return s * (1.0 - s)
    if name == "tanh":
        e = np.exp(-2.0 * np.abs(Z))  # sech²(z) = 4e^{-2|z|} / (1 + e^{-2|z|})²
        return 4.0 * e / (1.0 + e) ** 2
    if name == "relu":
        return (Z > 0).astype(float)
    if name == "linear":
        return np.ones_like(Z)
    raise ValueError(name)


# ------------------------------------------------------------------ network
def forward(weights, biases, activations, output, X, masks=None):
    """Pre-activations and activations of every layer: (Zs, As), As[0] = X.

    ``masks``: optional inverted-dropout masks, one (n, units) array per hidden
    layer (entries 0 or 1/keep); As then holds the masked activations.
    """
    names = list(activations) + [output]
    As, Zs = [np.asarray(X, dtype=float)], []
    for l, (W, b, name) in enumerate(zip(weights, biases, names)):
        Z = As[-1] @ np.asarray(W, float) + np.asarray(b, float)
        Zs.append(Z)
        A = activate(name, Z)
        As.append(A * masks[l] if masks is not None and l < len(activations) else A)
    return Zs, As


def costs(output, cost, Z, A, Y):
    """Per-sample cost (n,) of outputs A = f(Z) against targets Y (n, k)."""
    if cost == "quadratic":
        return 0.5 * ((A - Y) ** 2).sum(axis=1)
    if cost == "cross_entropy":
        assert output == "sigmoid"
        # −[y ln σ(z) + (1 − y) ln(1 − σ(z))], with ln σ(z) = −log(1 + e^−z).
        log_a = -np.logaddexp(0.0, -Z)
        log_1ma = -np.logaddexp(0.0, Z)
        return -(Y * log_a + (1 - Y) * log_1ma).sum(axis=1)
    if cost == "log_likelihood":
        assert output == "softmax"
        return -(Y * log_softmax(Z)).sum(axis=1)
    raise ValueError(cost)


def output_delta(output, cost, Z, A, Y):
    """dC/dZ of the output layer (n, k) by the chain rule through dC/dA."""
    if cost == "quadratic":
        dA = A - Y
    elif cost == "cross_entropy":
        dA = -Y / A + (1 - Y) / (1 - A)
    elif cost == "log_likelihood":
        dA = -Y / A
    else:
        raise ValueError(cost)
    if output == "softmax":
        # Jacobian J[j, k] = a_j (δ_jk − a_k); delta_k = Σ_j dA_j J[j, k].
        J = A[:, :, None] * (np.eye(A.shape[1])[None] - A[:, None, :])
        return np.einsum("nj,njk->nk", dA, J)
    return dA * derivative(output, Z)


def mean_cost(weights, biases, activations, output, cost, X, Y):
    """Mean unregularised cost over the samples."""
    Zs, As = forward(weights, biases, activations, output, X)
    return float(costs(output, cost, Zs[-1], As[-1], Y).mean())


def gradient(weights, biases, activations, output, cost, X, Y, masks=None):
    """Backprop gradient of the mean unregularised cost: (gW list, gb list).

    ``masks`` as for ``forward``.
    """
    Zs, As = forward(weights, biases, activations, output, X, masks)
    n = As[0].shape[0]
    delta = output_delta(output, cost, Zs[-1], As[-1], Y)
    gW, gb = [None] * len(weights), [None] * len(weights)
    for l in range(len(weights) - 1, -1, -1):
        gW[l] = As[l].T @ delta / n
        gb[l] = delta.sum(axis=0) / n
        if l:
            delta = delta @ np.asarray(weights[l], float).T
            delta = delta * derivative(activations[l - 1], Zs[l - 1])
            if masks is not None:
                delta = delta * masks[l - 1]
    return gW, gb


def penalty(weights, l2, l1, n):
    """The book's regularisation term l2/(2n)·Σw² + l1/n·Σ|w| (weights only)."""
    return sum(0.5 * l2 / n * (np.asarray(W, float) ** 2).sum()
               + l1 / n * np.abs(np.asarray(W, float)).sum() for W in weights)


# ---------------------------------------------------------------- optimizer
def sgd_update(theta, velocity, grad, regularised, eta, momentum=0.0, nesterov=False,
               l2_rate=0.0, l1_rate=0.0):
    """One update of flat float64 vectors as documented in kernels/update.py.

    ``regularised`` is a boolean mask of the weights (biases are not
    regularised); ``l2_rate`` = l2/n, ``l1_rate`` = l1/n.  Returns new
    (theta, velocity); the inputs are not modified.
    """
    g = grad + regularised * (l2_rate * theta + l1_rate * np.sign(theta))
    v = momentum * velocity - eta * g
    if nesterov:
        return theta + momentum * v - eta * g, v
    return theta + v, v


def flatten(weights, biases):
    """The flat float64 vector (weights first, then biases) and its weight mask."""
    theta = np.concatenate([np.ravel(W) for W in weights] + [np.ravel(b) for b in biases])
    n_weights = sum(np.size(W) for W in weights)
    mask = np.arange(theta.size) < n_weights
    return theta.astype(float), mask


def unflatten(theta, weights, biases):
    """Lists shaped like ``weights`` and ``biases`` from a flat vector."""
    out_W, out_b, k = [], [], 0
    for W in weights:
        out_W.append(theta[k:k + np.size(W)].reshape(np.shape(W)))
        k += np.size(W)
    for b in biases:
        out_b.append(theta[k:k + np.size(b)])
        k += np.size(b)
    return out_W, out_b


def train(weights, biases, activations, output, cost, batches, n, eta, momentum=0.0,
          nesterov=False, l2=0.0, l1=0.0):
    """Mini-batch SGD over ``batches`` (a list of (X, Y) pairs), in order,
    starting from zero velocity.

    ``n`` is the training-set size that the regularisers divide by.  Returns
    the final (weights, biases) in float64.
    """
    theta, mask = flatten(weights, biases)
    velocity = np.zeros_like(theta)
    for X, Y in batches:
        W, b = unflatten(theta, weights, biases)
        gW, gb = gradient(W, b, activations, output, cost, X, Y)
        grad, _ = flatten(gW, gb)
        theta, velocity = sgd_update(theta, velocity, grad, mask, eta, momentum, nesterov,
                                     l2 / n, l1 / n)
    return unflatten(theta, weights, biases)


# ------------------------------------------------------------ fastnet bridge
def of(net):
    """(weights, biases, activations, output, cost) of a fastnet.Network, as
    float64 copies, ready for the functions above."""
    return ([np.array(W, dtype=float) for W in net.weights],
            [np.array(b, dtype=float) for b in net.biases],
            list(net.activations), net.output, net.cost_name)
