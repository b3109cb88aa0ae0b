"""Whole fit() against epoch_seconds, with the data prepared once (``fastnet.Dataset``) and without.

    python -m bench.prepared        # MNIST from $FASTNET_DATA (or ../shared/data/mnist)

Prints, per workload, the whole ``fit`` call's seconds per epoch (3 epochs,
``monitor=False``) next to the training loop's own ``epoch_seconds``: with a
prepared ``Dataset`` the call should be within 10 % of its epochs; with raw
arrays it also pays the conversion once per call.
"""
import time

import fastnet

from .data import data_dir

WORKLOADS = (([784, 30, 10], 10), ([784, 100, 10], 10), ([784, 100, 10], 100))


def main():
    (X, y), _, _ = fastnet.load_mnist(data_dir())
    fastnet.Network([784, 30, 10], seed=1).fit(X[:300], y[:300], epochs=1, monitor=False)  # compile
    began = time.perf_counter()
    train = fastnet.Dataset(X, y)
    print(f"fastnet.Dataset(X, y), 50,000 images: {time.perf_counter() - began:.3f} s")
    for sizes, batch in WORKLOADS:
        for label, data in (("fit(Dataset)", (train,)), ("fit(X, y)   ", (X, y))):
            net = fastnet.Network(sizes, seed=1)
            began = time.perf_counter()
            history = net.fit(*data, epochs=3, batch_size=batch, eta=0.1, monitor=False)
            whole = (time.perf_counter() - began) / 3
            epoch = sum(history["epoch_seconds"]) / 3
            print(f"{sizes} b{batch} {label}: whole fit {whole:.3f} s/epoch, "
                  f"epoch_seconds {epoch:.3f}, ratio {whole / epoch:.2f}")


if __name__ == "__main__":
    main()
