"""fastnet.sklearn: scikit-learn's estimator checks, and the estimators in Pipelines, searches, pickles."""
import os
import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn")  # guard only: CI installs the sklearn extra
# scikit-learn's array-API check (with NumPy arrays) runs only when this is set.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits, make_blobs, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastnet import Network  # noqa: E402
from fastnet.sklearn import FastNetClassifier, FastNetRegressor  # noqa: E402

# Small networks and few epochs keep scikit-learn's ~50 checks per estimator at a few seconds.
CHECKED = [FastNetClassifier(hidden_layer_sizes=(16,), max_iter=40, learning_rate_init=0.05,
                             batch_size=16, random_state=0),
           FastNetRegressor(hidden_layer_sizes=(16,), max_iter=40, learning_rate_init=0.001,
                            batch_size=16, random_state=0)]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(CHECKED)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
