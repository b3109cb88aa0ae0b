"""Presets: the book's training runs, and fastnet's best fully-connected recipe.

Each preset is a set of ``Recipe`` settings; ``fastnet train --preset NAME``
starts from it and flags override single settings.  The book's runs
(Nielsen, *Neural Networks and Deep Learning*, neuralnetworksanddeeplearning.com):

* ``ch1``: chapter 1, "Implementing our network to classify digits":
  network.py's [784, 30, 10], sigmoid everywhere, quadratic cost, weights and
  biases N(0, 1), mini-batches of 10, eta 3.0, 30 epochs: 95.42% on the test
  data at its peak epoch.
* ``ch1-100``: the same with 100 hidden neurons: 96.59%.
* ``ch3``: chapter 3, "Regularization": network2.py with the cross-entropy
  cost, ``large_weight_initializer`` (N(0, 1), as in chapter 1), lambda 5.0,
  eta 0.5, 30 epochs on all 50,000 images: 96.49% on the test data.
* ``ch3-100``: chapter 3, same section: 100 hidden neurons, lambda 5.0,
  eta 0.1, 60 epochs: 98.04% on the validation data.

* ``best-fc``: beyond the book: [784, 800, 10] ReLU, softmax with the
  log-likelihood cost, batches of 32, eta 0.05, momentum 0.9, a cosine
  schedule over 30 epochs, and a fresh elastic distortion of the training
  images every epoch (``fastnet.Distort``).  Chapter 3 quotes 99.3% for
  Simard et al.'s 800-unit network trained on elastically distorted images;
  this recipe reaches about 99.2% on the test data in 1.5 to 3 minutes on
  2 cores.

* ``deep-fc``: beyond the book, towards Cireșan, Meier, Gambardella and
  Schmidhuber (2010), whose 784-1000-500-10 network trained on deformed
  images reached 99.51%: the same network with ``best-fc``'s recipe (ReLU,
  softmax, batches of 32, momentum 0.9, fresh elastic distortions every
  epoch), trained against the clock: a cosine schedule over 45 minutes
  (``--minutes``), as many epochs as fit.  Measured result: docs/cli.md.

The book's lambda is fastnet's ``l2``: both add lambda/(2n)·Σw² to the cost,
n the training-set size.  Measured results per preset: docs/cli.md.
"""
from dataclasses import dataclass

DEFAULT_PRESET = "ch1"


@dataclass(frozen=True)
class Preset:
    """A named recipe and the book's result it reproduces."""
    name: str
    summary: str              # one line for --help
    source: str               # where the book reports the run
    book_accuracy: float | None  # percent; None where the book has no such run
    settings: dict            # Recipe fields


_CHAPTER_1 = dict(sizes=(784, 30, 10), activation=("sigmoid",), output="sigmoid",
                  cost="quadratic", init="large", epochs=30, batch_size=10, eta=3.0)
_CHAPTER_3 = dict(_CHAPTER_1, cost="cross_entropy", eta=0.5, l2=5.0)

PRESETS = {preset.name: preset for preset in (
    Preset("ch1", "chapter 1: [784,30,10] sigmoid, quadratic cost, eta 3.0, 30 epochs",
           "ch. 1, 'Implementing our network to classify digits' (test data, peak epoch)",
           95.42, _CHAPTER_1),
    Preset("ch1-100", "chapter 1 with 100 hidden neurons",
           "ch. 1, 'Implementing our network to classify digits' (test data, peak epoch)",
           96.59, dict(_CHAPTER_1, sizes=(784, 100, 10))),
    Preset("ch3", "chapter 3: [784,30,10] cross-entropy, L2 5.0, eta 0.5, 30 epochs",
           "ch. 3, 'Regularization' (test data)", 96.49, _CHAPTER_3),
    Preset("ch3-100", "chapter 3: [784,100,10] cross-entropy, L2 5.0, eta 0.1, 60 epochs",
           "ch. 3, 'Regularization' (validation data)", 98.04,
           dict(_CHAPTER_3, sizes=(784, 100, 10), eta=0.1, epochs=60)),
    Preset("best-fc", "fastnet's best: [784,800,10] ReLU + softmax, momentum, cosine "
           "schedule, elastic distortions every epoch",
           "beyond the book (ch. 3 cites 99.3% for an 800-unit network with elastic "
           "distortions, Simard et al. 2003)", None,
           dict(sizes=(784, 800, 10), activation=("relu",), output="softmax",
                cost="log_likelihood", init="normalized", epochs=30, batch_size=32,
                eta=0.05, momentum=0.9, schedule="cosine", distort=True)),
    Preset("deep-fc", "towards Ciresan et al.'s deep nets: [784,1000,500,10] ReLU + softmax, "
           "momentum, cosine over 45 minutes, elastic distortions every epoch",
           "beyond the book (Ciresan et al. 2010: 99.51% for 784-1000-500-10 with "
           "deformations, after days of GPU training)", None,
           dict(sizes=(784, 1000, 500, 10), activation=("relu",), output="softmax",
                cost="log_likelihood", init="normalized", epochs=None, minutes=45.0, batch_size=32,
                eta=0.05, momentum=0.9, schedule="cosine", distort=True)),
)}
