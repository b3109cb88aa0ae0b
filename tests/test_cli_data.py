"""fastnet train / evaluate / predict / export with users' own data (fastnet.cli)."""
import csv
import gzip
import json

import numpy as np
import pytest

from data_files import write_mnist_folder
from fastnet import Network
from fastnet.cli import main


@pytest.fixture
def blobs_csv(tmp_path, monkeypatch):
    """A CSV of 3 well-separated classes with text labels in the middle column, features far from [0, 1]."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    centres = np.array([[100.0, -50.0, 7.0], [130.0, -20.0, 9.0], [70.0, -80.0, 11.0]])
    labels = np.arange(240) % 3
    X = centres[labels] + rng.normal(0, 3.0, (240, 3)) * [1, 1, 0.1]
    names = np.array(["red", "green", "blue"])[labels]
    with open("blobs.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["width", "colour", "height", "depth"])
        for row, name in zip(X, names):
            writer.writerow([f"{row[0]:.4f}", name, f"{row[1]:.4f}", f"{row[2]:.4f}"])
    with open("new.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([[f"{v:.4f}" for v in row] for row in centres])
    return tmp_path


TRAIN = ["train", "--data", "blobs.csv", "--label-column", "colour", "--preset", "best-fc",
         "--epochs", "8", "--eta", "0.05", "--seed", "4", "--quiet"]


def test_train_on_a_csv_then_evaluate_predict_and_export(blobs_csv, capsys):
    assert main([*TRAIN, "--hidden", "12", "--standardize", "--out", "run"]) == 0
    out = capsys.readouterr().out
    assert "data     blobs.csv: 192 training, 24 validation, 24 test samples, 3 features, 3 classes" in out
    net = Network.load("run/model.npz")
    assert net.sizes == (3, 12, 3) and net.classes == ["blue", "green", "red"]
    np.testing.assert_allclose(net.standardize.mean, [100, -50, 9], atol=1.0)
    recipe = json.loads((blobs_csv / "run" / "recipe.json").read_text())["recipe"]
    assert recipe["standardize"] is True and recipe["hidden"] == [12] and recipe["sizes"] == [3, 12, 3]
    test_accuracy = float(out.split("test accuracy ")[1].split("%")[0])
    assert test_accuracy > 95

    assert main(["evaluate", "run/model.npz", "--data", "blobs.csv", "--label-column", "colour"]) == 0
    out = capsys.readouterr().out
    assert "data     blobs.csv: 240 samples" in out and "0=blue, 1=green, 2=red" in out
    assert float(out.split("data accuracy ")[1].split("%")[0]) > 95

    assert main(["predict", "run/model.npz", "--data", "new.csv", "--out", "p.csv"]) == 0
    with open("p.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["prediction", "output_blue", "output_green", "output_red"]
    assert [row[0] for row in rows[1:]] == ["red", "green", "blue"]  # the centres, in order
    raw = np.loadtxt("new.csv", delimiter=",", dtype=np.float32)
    expected = net.predict_proba(net.standardize.apply(raw))
    np.testing.assert_allclose(np.array([row[1:] for row in rows[1:]], float), expected, rtol=1e-5)

    pytest.importorskip("onnxruntime")  # guard only: CI installs the test extra
    import onnxruntime
    assert main(["export", "run/model.npz", "model.onnx"]) == 0
    session = onnxruntime.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": raw})[0], expected, atol=1e-5)


def test_predict_writes_to_standard_output_and_skips_a_label_column(blobs_csv, capsys):
    assert main([*TRAIN, "--standardize", "--out", "run"]) == 0
    capsys.readouterr()
    assert main(["predict", "run/model.npz", "--data", "blobs.csv", "--label-column", "colour"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 241 and lines[0].startswith("prediction,")


def test_resume_a_run_on_a_csv(blobs_csv, capsys):
    assert main([*TRAIN, "--standardize", "--epochs", "3", "--schedule", "constant", "--out", "run"]) == 0
    assert main(["train", "--resume", "run", "--epochs", "5", "--quiet"]) == 0
    assert Network.load("run/checkpoint-last.npz").epochs_trained == 5


@pytest.mark.parametrize("flags, message", [
    (["--sizes", "3,12,2"], "sizes: 3,12,2 does not fit the data, which has 3 features and 3 classes"),
    (["--sizes", "3,12,3", "--hidden", "5"], "--hidden and --sizes both set the layers"),
    (["--split", "0.9,0,0.1"], "split: the validation part of blobs.csv is empty"),
    (["--label-column", "size"], "'size' is not a column of blobs.csv"),
    (["--distort"], "expand / distort: work on MNIST's 28 x 28 images only"),
])
def test_bad_data_settings_are_refused_before_anything_is_written(blobs_csv, capsys, flags, message):
    assert main([*TRAIN, *flags, "--out", "run"]) == 1
    assert message in capsys.readouterr().err
    assert not (blobs_csv / "run").exists()


@pytest.mark.parametrize("split", ["0.5,0.1,0.1", "nan,0.1,0.1", "inf,-inf,0.5", "1.5,-0.25,-0.25"])
def test_split_fractions_must_be_from_0_to_1_and_sum_to_1(blobs_csv, capsys, split):
    with pytest.raises(SystemExit) as exit_:
        main([*TRAIN, "--split", split, "--out", "run"])
    assert exit_.value.code == 2 and "split: expected three fractions" in capsys.readouterr().err
    assert not (blobs_csv / "run").exists()


def test_a_table_of_one_class_is_refused(blobs_csv, capsys):
    (blobs_csv / "one.csv").write_text("a,b,y\n" + "".join(f"{i},{i % 3},7.0\n" for i in range(30)))
    assert main(["train", "--data", "one.csv", "--epochs", "1", "--out", "run"]) == 1
    assert "one.csv: every label is 7; training needs samples of at least two classes" in \
        capsys.readouterr().err
    assert not (blobs_csv / "run").exists()


def test_a_header_of_column_numbers_is_named_by_a_flag_and_kept_for_resume(blobs_csv, capsys):
    rows = (blobs_csv / "blobs.csv").read_text().splitlines()
    (blobs_csv / "numbered.csv").write_text("\n".join(["0,1,2,3", *rows[1:]]) + "\n")
    train = ["train", "--data", "numbered.csv", "--label-column", "1", "--eta", "0.05", "--seed", "4",
             "--hidden", "6", "--standardize", "--quiet"]
    assert main([*train, "--out", "run"]) == 1
    assert "numbered.csv (0,1,2,3) is the column numbers" in capsys.readouterr().err
    assert not (blobs_csv / "run").exists()
    assert main([*train, "--header", "--epochs", "2", "--out", "run"]) == 0
    assert "numbered.csv: 192 training, 24 validation, 24 test samples" in capsys.readouterr().out
    assert json.loads((blobs_csv / "run" / "recipe.json").read_text())["recipe"]["header"] is True
    assert main(["train", "--resume", "run", "--epochs", "3", "--quiet"]) == 0
    assert main(["evaluate", "run/model.npz", "--data", "numbered.csv", "--label-column", "1",
                 "--header"]) == 0
    assert "numbered.csv: 240 samples" in capsys.readouterr().out
    assert main(["predict", "run/model.npz", "--data", "new.csv", "--no-header"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4  # the line of names and the 3 rows


def test_the_npz_layout_of_split_parts_and_a_gzipped_csv_train_as_tables(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(5)
    y = np.arange(90) % 3
    X = np.eye(3)[y] * 4 + rng.normal(0, 0.3, (90, 3))
    np.savez("parts.npz", x_train=X[:60], y_train=y[:60], x_test=X[60:], y_test=y[60:])
    assert main(["train", "--data", "parts.npz", "--hidden", "8", "--epochs", "2", "--quiet",
                 "--out", "npz"]) == 0
    assert "parts.npz: 54 training, 6 validation, 30 test samples, 3 features, 3 classes" in \
        capsys.readouterr().out
    text = "".join(f"{a:.4f},{b:.4f},{c:.4f},{label}\n" for (a, b, c), label in zip(X, y))
    with gzip.open("rows.csv.gz", "wt") as handle:
        handle.write(text)
    assert main(["train", "--data", "rows.csv.gz", "--hidden", "8", "--epochs", "2", "--quiet",
                 "--out", "gz"]) == 0
    assert "rows.csv.gz: 72 training, 9 validation, 9 test samples" in capsys.readouterr().out


def test_a_preset_keeps_its_hidden_layers_and_adapts_the_ends(blobs_csv):
    assert main(["train", "--data", "blobs.csv", "--label-column", "1", "--preset", "ch1",
                 "--standardize", "--epochs", "1", "--quiet", "--out", "run"]) == 0
    assert Network.load("run/model.npz").sizes == (3, 30, 3)
    # best-fc's elastic distortions are for MNIST's images: a table trains without them
    assert main(["train", "--data", "blobs.csv", "--label-column", "1", "--preset", "best-fc",
                 "--standardize", "--epochs", "1", "--quiet", "--out", "fc"]) == 0
    recipe = json.loads((blobs_csv / "fc" / "recipe.json").read_text())["recipe"]
    assert recipe["distort"] is False and recipe["sizes"] == [3, 800, 3]


def test_an_idx_folder_of_other_images_trains_unchanged(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(2)
    labels = (np.arange(120) % 4 + 1).astype(np.uint8)  # classes 1..4
    images = np.zeros((120, 6, 6), np.uint8)
    for k in range(4):
        images[labels == k + 1, k, :] = 255  # class k lights row k
    images = np.maximum(images, rng.integers(0, 60, images.shape).astype(np.uint8))
    write_mnist_folder(tmp_path / "rows", (images[:100], labels[:100]), (images[100:], labels[100:]))
    assert main(["train", "--data", "rows", "--preset", "ch1", "--hidden", "8", "--epochs", "10",
                 "--quiet", "--out", "run", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    # 25 training images per class, 0.1 / 0.9 of them (2.8, rounded per class) held out
    assert "rows: 88 training, 12 validation, 20 test samples, 36 features, 4 classes" in out
    assert "test accuracy 100.00% (20/20)" in out
    assert Network.load("run/model.npz").classes == [1, 2, 3, 4]


@pytest.fixture(scope="module")
def digits_folder(synthetic_mnist, tmp_path_factory):
    """The synthetic digits as a folder of MNIST's four IDX files, 10,010 training images
    (the book's split holds out 10,000 of them)."""
    folder = tmp_path_factory.mktemp("idx") / "digits"
    with np.load(synthetic_mnist) as archive:
        train = tuple(np.resize(archive[key], (10_010, *archive[key].shape[1:]))
                      for key in ("x_train", "y_train"))
        write_mnist_folder(folder, train, (archive["x_test"], archive["y_test"]), compress=False)
    return folder


@pytest.mark.parametrize("where", ["npz", "idx", "default"])
@pytest.mark.parametrize("flag", [["--label-column", "0"], ["--no-header"]])
@pytest.mark.parametrize("classes", [None, list(range(10))])
def test_evaluate_on_mnist_refuses_the_csv_flags(synthetic_mnist, digits_folder, tmp_path, monkeypatch,
                                                 capsys, where, flag, classes):
    """evaluate used to ignore --label-column and --header on MNIST (and score it anyway)."""
    monkeypatch.chdir(tmp_path)
    net = Network([784, 10, 10], seed=0)
    net.classes = classes  # a model with classes is evaluated the way tables are
    net.save("m.npz")
    monkeypatch.setenv("FASTNET_DATA", str(synthetic_mnist))
    data = {"npz": ["--data", str(synthetic_mnist)], "idx": ["--data", str(digits_folder)],
            "default": []}[where]
    assert main(["evaluate", "m.npz", *data, *flag]) == 1
    named = data[1] if data else "MNIST"
    name = "label_column" if flag[0] == "--label-column" else "header"
    assert f"{name}: applies to CSV files only, but {named} is not a .csv; leave it out" in \
        capsys.readouterr().err
    assert main(["evaluate", "m.npz", *data]) == 0  # the same without the flag


@pytest.mark.parametrize("arrays, name", [
    ({"X": np.ones((20, 3)), "y": np.array(["a", 1] * 10, dtype=object)}, "y"),
    ({"x_train": np.ones((20, 3)), "y_train": np.array(["a", 1] * 10, dtype=object),
      "x_test": np.ones((4, 3)), "y_test": np.arange(4)}, "y_train"),
])
def test_an_npz_of_pickled_labels_is_refused_by_name(tmp_path, monkeypatch, capsys, arrays, name):
    """It used to be taken for MNIST, whose reader named keys the file need not have."""
    monkeypatch.chdir(tmp_path)
    np.savez("x.npz", **arrays)
    assert main(["train", "--data", "x.npz", "--epochs", "1", "--quiet"]) == 1
    assert (f"x.npz: {name} holds pickled Python objects (object dtype), which fastnet does not "
            f"load (unpickling can run code); save it as text or numbers, e.g. "
            f"np.savez(..., {name}={name}.astype(str))") in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
