"""The ``fastnet`` command end to end: subprocesses on small MNIST-shaped synthetic data.

The data (3,000 training, 1,000 validation, 1,000 test images of
``conftest.synthetic_digits``, in an .npz) keeps each run to a few seconds; one
test reads the genuine files.  Usage errors are checked
in-process through ``fastnet.cli.main`` as well, where no training is needed.
"""
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastnet
from fastnet.cli import main
from fastnet.optim import SECONDS_KEYS
from fastnet.presets import PRESETS
from fastnet.runs import RunFolder

EPOCH_LINE = re.compile(r"^epoch +(\d+)/(\d+) +train cost [\d.]+ acc [\d.]+% +val cost [\d.]+ "
                        r"acc [\d.]+% +eta [\d.e-]+ +[\d.]+ s +left \d+:\d\d( +\*)?$", re.MULTILINE)
TEST_LINE = re.compile(r"^test accuracy ([\d.]+)% \((\d+)/(\d+)\) +cost [\d.]+$", re.MULTILINE)
RUN_FILES = ["checkpoint-best.npz", "checkpoint-last.npz", "history.csv", "history.json",
             "learning-curves.png", "model.npz", "recipe.json"]
TIMEOUT = 300


@pytest.fixture(scope="session")
def mnist_slice(synthetic_mnist):
    """An MNIST-shaped .npz: 3,000 training, 1,000 validation, 1,000 test images of
    synthetic digits (the command is under test here, not the data; the real files
    are read by test_train_on_the_full_real_data)."""
    return synthetic_mnist


def command(*args):
    """The argument list that runs ``fastnet *args`` with this interpreter."""
    return [sys.executable, "-m", "fastnet", *map(str, args)]


def environment(mnist_dir=None):
    """os.environ with FASTNET_DATA naming ``mnist_dir`` (None: no FASTNET_DATA)."""
    env = dict(os.environ)
    env.pop("FASTNET_DATA", None)
    env.pop("FASTNET_DEBUG", None)
    if mnist_dir is not None:
        env["FASTNET_DATA"] = str(mnist_dir)
    return env


@pytest.fixture
def fastnet_cli(tmp_path):
    """Run ``fastnet ARGS`` in tmp_path; returns the CompletedProcess (text).
    ``mnist_dir=`` sets FASTNET_DATA for the run."""
    def run(*args, python=None, mnist_dir=None):
        argv = command(*args) if python is None else [sys.executable, "-c", python, *map(str, args)]
        return subprocess.run(argv, cwd=tmp_path, env=environment(mnist_dir), capture_output=True,
                              text=True, timeout=TIMEOUT)
    return run


def parse_test_line(stdout):
    """(accuracy %, correct, total) from the 'test accuracy' line."""
    match = TEST_LINE.search(stdout)
    assert match, stdout
    return float(match[1]), int(match[2]), int(match[3])


def arrays(path):
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files if name != "header"}


def header(path):
    with np.load(path, allow_pickle=False) as archive:
        return json.loads(str(archive["header"]))


def assert_same_run(a, b):
    """Two run folders hold bit-identical models, checkpoints and histories."""
    for name in ("model.npz", "checkpoint-last.npz", "checkpoint-best.npz"):
        ours, theirs = arrays(a / name), arrays(b / name)
        assert sorted(ours) == sorted(theirs)
        for key in ours:
            assert np.array_equal(ours[key], theirs[key]), f"{name}: {key} differs"
    histories = [json.loads((run / "history.json").read_text()) for run in (a, b)]
    for record in histories:
        for key in SECONDS_KEYS:  # clock readings differ from run to run
            del record["history"][key]
    assert histories[0] == histories[1]


# ---------------------------------------------------------------------- train
def test_train_writes_a_run_that_evaluate_and_show_read(fastnet_cli, mnist_slice, tmp_path):
    run = fastnet_cli("train", "--data", mnist_slice, "--epochs", 3, "--seed", 4, "--out", "run")
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert "preset ch1" in run.stdout and "seed 4" in run.stdout
    assert [int(m[0]) for m in EPOCH_LINE.findall(run.stdout)] == [1, 2, 3]
    accuracy, correct, total = parse_test_line(run.stdout)
    assert total == 1000 and accuracy > 50
    folder = tmp_path / "run"
    expected = RUN_FILES if _has_matplotlib() else [f for f in RUN_FILES if not f.endswith(".png")]
    assert sorted(p.name for p in folder.iterdir()) == expected
    history = json.loads((folder / "history.json").read_text())
    assert history["epochs"] == 3 and len(history["history"]["validation_accuracy"]) == 3
    assert len((folder / "history.csv").read_text().splitlines()) == 4
    assert header(folder / "model.npz")["network"]["epochs_trained"] == history["best_epoch"]
    assert json.loads((folder / "recipe.json").read_text())["recipe"]["seed"] == 4

    evaluated = fastnet_cli("evaluate", folder / "model.npz", "--data", mnist_slice)
    assert evaluated.returncode == 0, evaluated.stderr
    assert TEST_LINE.search(evaluated.stdout)[0] == TEST_LINE.search(run.stdout)[0]
    matrix = np.array([[int(v) for v in line.split()[1:]]
                       for line in evaluated.stdout.splitlines()[-10:]])
    assert matrix.shape == (10, 10) and matrix.sum() == 1000 and np.trace(matrix) == correct

    shown = fastnet_cli("show", folder / "model.npz", "--png", "weights.png")
    assert shown.returncode == 0, shown.stderr
    assert "784 -> 30 sigmoid -> 10 sigmoid, quadratic cost" in shown.stdout
    png = (tmp_path / "weights.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png[12:16] == b"IHDR"


def test_train_on_the_full_real_data(fastnet_cli, mnist_dir):
    """No --data: $FASTNET_DATA names the genuine files; --limit cuts the training set."""
    run = fastnet_cli("train", "--limit", 2000, "--epochs", 1, "--quiet", "--out", "run",
                      mnist_dir=mnist_dir)
    assert run.returncode == 0, run.stderr
    assert "2,000 training, 10,000 validation, 10,000 test images" in run.stdout
    assert not EPOCH_LINE.search(run.stdout)  # --quiet
    assert parse_test_line(run.stdout)[2] == 10000


def test_plot_is_skipped_without_matplotlib(fastnet_cli, mnist_slice, tmp_path):
    without_matplotlib = ("import sys; sys.modules['matplotlib'] = None; "
                          "from fastnet.cli import main; sys.exit(main(sys.argv[1:]))")
    run = fastnet_cli("train", "--data", mnist_slice, "--epochs", 1, "--out", "run",
                      python=without_matplotlib)
    assert run.returncode == 0, run.stderr
    assert "plot     skipped: matplotlib is not installed" in run.stdout
    assert not (tmp_path / "run" / "learning-curves.png").exists()
    assert (tmp_path / "run" / "model.npz").exists()


@pytest.mark.parametrize("name", PRESETS)
def test_each_preset_starts_and_learns(fastnet_cli, mnist_slice, tmp_path, name):
    epochs = 3 if name == "deep-fc" else 1  # its wider, deeper network takes a few more steps
    run = fastnet_cli("train", "--preset", name, "--data", mnist_slice, "--epochs", epochs,
                      "--seed", 1, "--quiet", "--out", "run")
    assert run.returncode == 0, run.stderr
    assert f"preset {name}" in run.stdout
    assert parse_test_line(run.stdout)[0] > 30  # chance is 10%; ch1-100 is slowest: 39%
    recipe = json.loads((tmp_path / "run" / "recipe.json").read_text())["recipe"]
    settings = PRESETS[name].settings
    assert {key: recipe[key] for key in settings if key != "epochs"} == \
        {key: list(v) if isinstance(v, tuple) else v for key, v in settings.items() if key != "epochs"}


# --------------------------------------------------------------------- resume
RESUMABLE = ("--sizes", "784,30,10", "--activation", "relu", "--output", "softmax",
             "--eta", 0.05, "--momentum", 0.9, "--dropout", 0.2, "--schedule", "cosine",
             "--distort", "--batch-size", 20, "--epochs", 6, "--seed", 9)


def test_interrupted_run_resumes_to_the_same_weights(fastnet_cli, mnist_slice, tmp_path):
    """Ctrl-C after epoch 2 of 6, then --resume: bit-identical to a run never interrupted."""
    straight = fastnet_cli("train", "--data", mnist_slice, *RESUMABLE, "--out", "straight")
    assert straight.returncode == 0, straight.stderr

    process = subprocess.Popen(command("train", "--data", mnist_slice, *RESUMABLE, "--out", "cut"),
                               cwd=tmp_path, env=environment(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("epoch   2/6"):
            process.send_signal(signal.SIGINT)
            break
    _, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 130, stderr
    assert "fastnet train --resume cut" in stderr and "Traceback" not in stderr
    stopped_at = header(tmp_path / "cut" / "checkpoint-last.npz")["optimizer"]["epoch"]
    assert 2 <= stopped_at < 6

    resumed = fastnet_cli("train", "--resume", "cut")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming after epoch {stopped_at}" in resumed.stdout
    assert [int(m[0]) for m in EPOCH_LINE.findall(resumed.stdout)] == list(range(stopped_at + 1, 7))
    assert parse_test_line(resumed.stdout) == parse_test_line(straight.stdout)
    assert_same_run(tmp_path / "straight", tmp_path / "cut")


def test_resume_with_more_epochs_extends_the_run(fastnet_cli, mnist_slice, tmp_path):
    common = ("--data", mnist_slice, "--seed", 3, "--momentum", 0.5, "--eta", 1.0)
    assert fastnet_cli("train", *common, "--epochs", 4, "--out", "straight").returncode == 0
    assert fastnet_cli("train", *common, "--epochs", 2, "--out", "extended").returncode == 0
    resumed = fastnet_cli("train", "--resume", "extended", "--epochs", 4, "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert_same_run(tmp_path / "straight", tmp_path / "extended")
    assert json.loads((tmp_path / "extended" / "recipe.json").read_text())["recipe"]["epochs"] == 4


def test_resume_with_more_epochs_stretches_a_cosine_schedule(mnist_slice, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    flags = ["--data", str(mnist_slice), "--seed", "3", "--schedule", "cosine", "--quiet"]
    assert main(["train", *flags, "--epochs", "2", "--out", "run"]) == 0
    assert main(["train", "--resume", "run", "--epochs", "4"]) == 0
    etas = json.loads((tmp_path / "run" / "history.json").read_text())["history"]["eta"]
    eta0 = etas[0]
    # epochs 1-2 annealed over 2 epochs, epochs 3-4 over the new total of 4
    assert etas == pytest.approx([eta0, eta0 / 2, eta0 / 2, eta0 * (1 + np.cos(3 * np.pi / 4)) / 2])


def test_resume_keeps_the_recipe(fastnet_cli, mnist_slice, tmp_path):
    assert fastnet_cli("train", "--data", mnist_slice, "--epochs", 1, "--quiet",
                       "--out", "run").returncode == 0
    changed = fastnet_cli("train", "--resume", "run", "--eta", 0.1)
    assert changed.returncode == 2
    assert "--eta cannot change them" in changed.stderr and "usage:" in changed.stderr
    (tmp_path / "empty").mkdir()
    nothing = fastnet_cli("train", "--resume", "empty")
    assert nothing.returncode == 1
    assert nothing.stderr.startswith("fastnet: error: resume: ") and "holds no run" in nothing.stderr
    again = fastnet_cli("train", "--data", mnist_slice, "--out", "run")
    assert again.returncode == 1 and "already holds a run" in again.stderr


def test_run_interrupted_in_its_first_epoch_can_resume(mnist_slice, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    flags = ["--data", str(mnist_slice), "--epochs", "2", "--seed", "5", "--quiet"]
    fit = fastnet.Network.fit

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fastnet.Network, "fit", interrupted)
    assert main(["train", *flags, "--out", "cut"]) == 130
    assert "fastnet: interrupted after epoch 0; continue with: fastnet train --resume cut" \
        in capsys.readouterr().err
    assert header(tmp_path / "cut" / "checkpoint-last.npz")["optimizer"]["epoch"] == 0
    monkeypatch.setattr(fastnet.Network, "fit", fit)
    assert main(["train", "--resume", "cut"]) == 0
    assert main(["train", *flags, "--out", "straight"]) == 0
    assert_same_run(tmp_path / "straight", tmp_path / "cut")
    assert main(["train", "--resume", "cut"]) == 0
    assert "nothing to train: the run has done 2 of 2 epochs" in capsys.readouterr().out


# ------------------------------------------------------------ against a clock
MINUTE_EPOCH = re.compile(r"^epoch +(\d+) +train cost .* s +left (\d+):(\d\d)( +\*)?$", re.MULTILINE)


@pytest.fixture
def minute_epochs(monkeypatch):
    """Every epoch of a fit takes one minute of a fake clock that moves only when an
    epoch is trained."""
    class MinuteTrainer(fastnet.training.Trainer):
        def __init__(self, net, *args, **kwargs):
            super().__init__(net, *args, clock=lambda: 60.0 * net.epochs_trained, **kwargs)

    monkeypatch.setattr(fastnet.network, "Trainer", MinuteTrainer)


def test_minutes_train_as_many_epochs_as_fit_with_the_time_left(mnist_slice, tmp_path, monkeypatch,
                                                                 capsys, minute_epochs):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--data", str(mnist_slice), "--seed", "4", "--minutes", "3.5",
                 "--schedule", "cosine", "--warmup", "0.3", "--out", "run"]) == 0
    out = capsys.readouterr().out
    assert "training 3.5 minutes, batch 10" in out and "warm-up over 0.3 of the run" in out
    lines = MINUTE_EPOCH.findall(out)  # the preset's 30 epochs are no limit: 3 minutes fit in 3.5
    assert [(int(epoch), int(m), int(s)) for epoch, m, s, _ in lines] == [(1, 2, 30), (2, 1, 30),
                                                                           (3, 0, 30)]
    assert "stopped: time budget of 210 s: 180.0 s used" in out
    record = json.loads((tmp_path / "run" / "recipe.json").read_text())["recipe"]
    assert record["minutes"] == 3.5 and record["epochs"] is None and record["warmup"] == 0.3
    etas = json.loads((tmp_path / "run" / "history.json").read_text())["history"]["eta"]
    eta0 = PRESETS["ch1"].settings["eta"]
    ramp = [0.1 + 0.9 * min(done / 0.3, 1.0) for done in (0, 60 / 210, 120 / 210)]
    cosine = [(1 + np.cos(np.pi * done)) / 2 for done in (0, 60 / 210, 120 / 210)]
    assert etas == pytest.approx([eta0 * r * c for r, c in zip(ramp, cosine)])


def test_interrupted_run_against_a_clock_resumes_with_the_budget_it_has_left(
        mnist_slice, tmp_path, monkeypatch, capsys, minute_epochs):
    monkeypatch.chdir(tmp_path)
    flags = ["--data", str(mnist_slice), "--seed", "6", "--schedule", "cosine", "--momentum", "0.5",
             "--minutes", "3.5", "--quiet"]
    assert main(["train", *flags, "--out", "straight"]) == 0
    save_epoch = RunFolder.save_epoch

    def interrupted_after_epoch_2(folder, net, optimizer):  # a Ctrl-C once its files are saved
        save_epoch(folder, net, optimizer)
        if optimizer.epoch == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(RunFolder, "save_epoch", interrupted_after_epoch_2)
    assert main(["train", *flags, "--out", "cut"]) == 130
    monkeypatch.setattr(RunFolder, "save_epoch", save_epoch)
    assert header(tmp_path / "cut" / "checkpoint-last.npz")["optimizer"]["epoch"] == 2
    assert main(["train", "--resume", "cut"]) == 0  # 2 of its 3.5 minutes used: one epoch more
    assert "resuming after epoch 2" in capsys.readouterr().out
    assert_same_run(tmp_path / "straight", tmp_path / "cut")
    assert main(["train", "--resume", "cut", "--minutes", "4.5"]) == 0  # a larger budget: one more
    history = json.loads((tmp_path / "cut" / "history.json").read_text())
    assert history["epochs"] == 4 and history["history"]["wall_seconds"] == [60.0] * 4
    assert json.loads((tmp_path / "cut" / "recipe.json").read_text())["recipe"]["minutes"] == 4.5


def test_a_longer_budget_interrupted_before_its_first_epoch_still_resumes(
        mnist_slice, tmp_path, monkeypatch, minute_epochs):
    """recipe.json gets the new --minutes before training; the checkpoint's warm-up still
    measures the old budget, in the cosine inside it too: the two are still one run."""
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--data", str(mnist_slice), "--seed", "6", "--schedule", "cosine",
                 "--warmup", "0.5", "--minutes", "1", "--quiet", "--out", "run"]) == 0
    fit = fastnet.Network.fit

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fastnet.Network, "fit", interrupted)
    assert main(["train", "--resume", "run", "--minutes", "2"]) == 130
    monkeypatch.setattr(fastnet.Network, "fit", fit)
    assert main(["train", "--resume", "run"]) == 0
    assert json.loads((tmp_path / "run" / "history.json").read_text())["epochs"] == 2


def test_minutes_with_epochs_stop_at_whichever_comes_first(mnist_slice, tmp_path, monkeypatch,
                                                           minute_epochs):
    monkeypatch.chdir(tmp_path)
    flags = ["--data", str(mnist_slice), "--seed", "6", "--quiet"]
    assert main(["train", *flags, "--minutes", "10", "--epochs", "2", "--out", "epochs"]) == 0
    assert main(["train", *flags, "--minutes", "1", "--epochs", "5", "--out", "clock"]) == 0
    assert [json.loads((tmp_path / run / "history.json").read_text())["epochs"]
            for run in ("epochs", "clock")] == [2, 1]


# --------------------------------------------------------------------- errors
@pytest.mark.parametrize("argv, message", [
    ([], "required: COMMAND"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["train", "--bogus"], "unrecognized arguments: --bogus"),
    (["train", "--epochs", "many"], "--epochs: invalid int value"),
    (["train", "--minutes", "0"], "minutes: 0.0 is out of range"),
    (["train", "--warmup", "1.5"], "warmup: 1.5 is out of range"),
    (["train", "--sizes", "784,abc,10"], "not a comma-separated list"),
    (["train", "--sizes", "784"], "two or more positive sizes"),
    (["train", "--activation", "swish"], "unknown activation 'swish'"),
    (["train", "--preset", "ch9"], "invalid choice: 'ch9'"),
    (["train", "--schedule", "step:every"], "not key=value"),
    (["train", "--schedule", "warp"], "unknown name 'warp'"),
    (["train", "--schedule", "step:evry=3"], "no parameter 'evry'"),
    (["train", "--eta", "-1"], "eta: -1.0 is out of range"),
    (["train", "--momentum", "1.5"], "momentum"),
    (["train", "--epochs", "0"], "epochs: must be a positive integer"),
    (["train", "--output", "softmax", "--cost", "cross_entropy"], "does not fit a 'softmax'"),
    (["train", "--sizes", "784,30,30,10", "--activation", "relu,tanh,relu"], "3 names for 2"),
    (["evaluate"], "required: MODEL"),
    (["evaluate", "m.npz", "--split", "train"], "invalid choice: 'train'"),
])
def test_usage_errors_exit_2_with_usage(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("usage: fastnet") and message in stderr
    assert not (tmp_path / "runs").exists()  # nothing written


@pytest.mark.parametrize("argv, message", [
    (["train", "--activation", "tanh,relu", "--hidden", "4"], "2 names for 1 hidden layers"),
    (["train", "--eta", "-1"], "eta: -1.0 is out of range"),
    (["train", "--early-stopping", "-1"], "--early-stopping: expected 0"),
    (["sweep", "--random", "0"], "--random: expected a positive number"),
])
def test_usage_errors_found_after_parsing_show_the_subcommands_usage(argv, message, capsys,
                                                                      tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    usage, *_, error = capsys.readouterr().err.splitlines()
    assert usage.startswith(f"usage: fastnet {argv[0]} [-h]")
    assert error.startswith(f"fastnet {argv[0]}: error: ") and message in error
    assert not list(tmp_path.iterdir())  # nothing written


def test_an_unknown_flag_is_named_with_the_subcommands_usage(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--bogus", "1"])
    assert exit_.value.code == 2
    usage, *_, error = capsys.readouterr().err.splitlines()
    assert usage.startswith("usage: fastnet train [-h]")
    assert error == "fastnet train: error: unrecognized arguments: --bogus 1"


def test_usage_error_in_a_subprocess_has_no_traceback(fastnet_cli):
    run = fastnet_cli("train", "--eta", "fast")
    assert run.returncode == 2
    assert "usage: fastnet train" in run.stderr and "Traceback" not in run.stderr


def test_library_errors_are_one_line_exit_1(fastnet_cli, tmp_path):
    missing = fastnet_cli("evaluate", "absent.npz")
    assert missing.returncode == 1
    assert missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.startswith("fastnet: error: ") and "absent.npz" in missing.stderr

    (tmp_path / "cut.npz").write_bytes(b"PK\x03\x04" + b"\0" * 100)
    corrupt = fastnet_cli("show", "cut.npz")
    assert corrupt.returncode == 1
    assert corrupt.stderr == "fastnet: error: cut.npz: is a truncated or damaged .npz (zip) archive\n"


@pytest.mark.parametrize("argv, message", [
    (["train", "--data", "no/such/folder", "--epochs", "1"], "does not exist"),
    (["evaluate", "model.npz"], "No such file"),
    (["show", "notes.txt"], "is not a .npz archive"),
])
def test_library_errors_in_process(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not a model")
    assert main(argv) == 1
    stderr = capsys.readouterr().err
    assert stderr.startswith("fastnet: error: ") and message in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # no run folder


def test_train_help_lists_the_presets(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])
    assert exit_.value.code == 0
    shown = capsys.readouterr().out
    assert all(f"  {name} " in shown for name in PRESETS)


def test_bench_runs_the_checkout_compare_module(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr("fastnet.cli.bench.subprocess.call", lambda argv, cwd: calls.append((argv, cwd)) or 0)
    status = main(["bench", "--quick"])
    root = Path(fastnet.__file__).resolve().parent.parent
    if (root / "bench" / "compare.py").is_file():
        assert status == 0 and calls == [([sys.executable, "-m", "bench.compare", "--quick"], root)]
    else:
        assert status == 1 and not calls
        assert "source checkout" in capsys.readouterr().err


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "fastnet"
    if not script.exists():
        pytest.skip("the fastnet console script is not installed next to this interpreter")
    run = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=TIMEOUT)
    from fastnet.kernels.blas import describe as blas
    from fastnet.kernels.lanes import describe
    assert run.returncode == 0
    assert " ".join(run.stdout.split()) == (f"fastnet {fastnet.__version__}, kernels: "
                                            f"{describe()}, BLAS: {blas()}")


def _has_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def test_threads_and_hogwild_flags(fastnet_cli, mnist_slice, tmp_path):
    """--threads and --hogwild choose how the run trains, not what: they are
    not in the recipe, and --resume takes them."""
    runs = {}
    for name, flags in (("one", []), ("two", ["--threads", "2"]), ("wild", ["--threads", "2", "--hogwild"])):
        run = fastnet_cli("train", "--data", mnist_slice, "--epochs", 1, "--seed", 1, "--batch-size", 32,
                          "--quiet", "--out", name, *flags)
        assert run.returncode == 0, run.stderr
        runs[name] = parse_test_line(run.stdout)[0]
        assert "threads" not in (tmp_path / name / "recipe.json").read_text()
    assert abs(runs["two"] - runs["one"]) < 1 and abs(runs["wild"] - runs["one"]) < 5, runs
    resumed = fastnet_cli("train", "--resume", "two", "--epochs", 2, "--threads", "auto", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    for bad in ("0", "many"):
        run = fastnet_cli("train", "--data", mnist_slice, "--threads", bad, "--out", "bad")
        assert run.returncode == 2 and "--threads" in run.stderr and "positive number" in run.stderr
        assert not (tmp_path / "bad").exists()


def _subcommands():
    from fastnet.cli import build_parser
    parser = build_parser()
    return next(action for action in parser._actions if action.dest == "command").choices


def test_each_command_runs_from_its_own_module():
    for name, command in _subcommands().items():
        assert command.get_default("run").__module__ == f"fastnet.cli.{name}", name


def test_the_recipe_flags_are_defined_once_in_the_recipe():
    from fastnet.recipe import FLAGS
    from fastnet.sweeps.grid import convert, setting_names
    for command in ("train", "sweep"):
        actions = {action.dest: action for action in _subcommands()[command]._actions}
        for flag in FLAGS.values():
            action = actions[flag.name]
            assert flag.option in action.option_strings and action.choices == flag.choices, (command, flag)
    assert setting_names() == sorted(set(FLAGS) - {"seed"} | {"optimizer"})  # train's --optimizer
    assert convert("hidden", "100,50") == (100, 50) and convert("nesterov", "yes") is True
    with pytest.raises(ValueError, match="activation: 'swish' is not a valid value .*unknown activation"):
        convert("activation", "swish")


def test_train_verbose_prints_the_plan_once(mnist_slice, tmp_path, monkeypatch, capsys):
    """``fastnet train -v`` prints the network's plan (one line per layer) once,
    before the first epoch; without -v there is none."""
    monkeypatch.chdir(tmp_path)
    flags = ["--data", str(mnist_slice), "--seed", "3", "--epochs", "1", "--quiet",
             "--limit", "500", "--batch-size", "32"]
    assert main(["train", *flags, "--out", "quiet"]) == 0
    assert "plan " not in capsys.readouterr().out
    assert main(["train", *flags, "-v", "--out", "verbose"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    at = [k for k, line in enumerate(lines) if line.startswith("plan ")]
    assert len(at) == 1 and lines[at[0]].startswith("plan     batch 32, ")
    first, second = lines[at[0] + 1:at[0] + 3]
    assert first.split()[:5] == ["layer", "1", "784", "->", "30"] and "backward -" in first
    assert second.split()[:5] == ["layer", "2", "30", "->", "10"] and "forward gemm" in second
    assert at[0] < min(k for k, line in enumerate(lines) if line.startswith("best validation"))
