"""The homework kit: make the student version, grade it, name the mistakes."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bprop.exercises import EXERCISES, grade, keep_solutions, make, strip_solutions
from bprop.exercises.cli import main as exercises_main
from bprop.exercises.grading import grade_exercise

MAX_POINTS = sum(e.points for e in EXERCISES)


@pytest.fixture
def reference(tmp_path) -> Path:
    make(tmp_path / "ref", solutions=True)
    return tmp_path / "ref"


@pytest.fixture
def student(tmp_path) -> Path:
    make(tmp_path / "student")
    return tmp_path / "student"


def _mutate(directory: Path, filename: str, old: str, new: str) -> None:
    path = directory / filename
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} must occur once in {filename}"
    path.write_text(text.replace(old, new))


def test_there_are_the_six_required_exercises():
    assert [e.name for e in EXERCISES] == [
        "sigmoid", "linear", "softmax_nll", "sgd", "value_gate", "custom_layer"
    ]
    assert all(e.points == 10 for e in EXERCISES)


def test_reference_solutions_earn_full_marks(reference):
    report = grade(reference)
    assert (report.points, report.max_points) == (MAX_POINTS, MAX_POINTS)
    assert all(e.passed and e.message == "" for e in report.exercises)
    errors = [e.grad_error for e in report.exercises if e.grad_error is not None]
    assert len(errors) == 5 and max(errors) < 1e-8  # every exercise but SGD is gradchecked


def test_blank_student_version_earns_zero_with_hints(student):
    report = grade(student)
    assert report.points == 0
    for e in report.exercises:
        assert not e.passed
        assert e.message.startswith("not implemented yet (hint: "), e.message


def test_student_version_keeps_the_scaffold_and_hides_the_solutions(student, reference):
    for e in EXERCISES:
        text = (student / e.filename).read_text()
        compile(text, e.filename, "exec")
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
        assert "raise NotImplementedError(" in text
    assert "dy * y * (1.0 - y)" not in (student / "sigmoid.py").read_text()
    assert "dy * y * (1.0 - y)" in (reference / "sigmoid.py").read_text()
    assert "def forward(self, x: np.ndarray)" in (student / "sigmoid.py").read_text()
    readme = (student / "README.md").read_text()
    assert "| 1 | `sigmoid.py` | Sigmoid backward | 10 |" in readme


MISTAKES = [
    # (file, correct code, mistaken code, exercise, words the message must contain)
    ("sigmoid.py", "return dy * y * (1.0 - y)", "return dy",
     "sigmoid", "missing the sigmoid derivative factor y * (1 - y)"),
    ("sigmoid.py", "return dy * y * (1.0 - y)", "return dy * y",
     "sigmoid", "missing the factor (1 - y)"),
    ("linear.py", "return dy @ W.T", "return dy @ W",
     "linear", "W is not transposed"),
    ("linear.py", "self.weight.grad = x.T @ dy", "self.weight.grad = dy.T @ x",
     "linear", "dW is transposed"),
    ("linear.py", "self.bias.grad = dy.sum(axis=0)", "self.bias.grad = dy.mean(axis=0)",
     "linear", "divided by N"),
    ("linear.py", "self.weight.grad = x.T @ dy", "self.weight.grad += x.T @ dy",
     "linear", "gradients accumulate across calls"),
    ("softmax_nll.py", "return dz / n", "return dz",
     "softmax_nll", "forgot the 1/N"),
    ("softmax_nll.py", "self._labels].mean())", "self._labels].sum())",
     "softmax_nll", "returns the sum over the batch"),
    ("softmax_nll.py", "z = scores - scores.max(axis=1, keepdims=True)", "z = scores",
     "softmax_nll", "overflow"),
    ("sgd.py", "if p.decay else p.grad", "if True else p.grad",
     "sgd", "decayed a parameter whose .decay is False"),
    ("sgd.py", "p.value -= self.lr * g", "p.value -= self.lr * p.grad",
     "sgd", "weight decay ignored"),
    ("value_gate.py", "x.grad += ", "x.grad = ",
     "value_gate", "gradients add up at forks"),
    ("value_gate.py", "* out.grad", "",
     "value_gate", "ignored the upstream gradient"),
    ("custom_layer.py", "self.beta.grad = ", "self.beta.grad += ",
     "custom_layer", "do not +="),
    ("custom_layer.py", "return dy * (s + self.beta.value * x * slope)", "return dy * s",
     "custom_layer", "gradient check failed"),
]


@pytest.mark.parametrize("filename,old,new,name,words", MISTAKES,
                         ids=[f"{m[3]}:{m[4][:24]}" for m in MISTAKES])
def test_typical_mistakes_lose_points_with_a_message_naming_them(
    reference, filename, old, new, name, words
):
    _mutate(reference, filename, old, new)
    (result,) = grade(reference, only=[name]).exercises
    assert 0 < result.max_points and result.points < result.max_points
    messages = [c.message for c in result.checks if not c.passed]
    assert any(words in m for m in messages), messages


def test_a_failing_dx_still_earns_the_parameter_gradient_points(reference):
    _mutate(reference, "linear.py", "return dy @ W.T", "return dy @ W")
    (result,) = grade(reference, only=["linear"]).exercises
    earned = {c.description: c.points for c in result.checks}
    assert earned == {
        "dx matches bprop.layers.Linear": 0,
        "weight.grad matches bprop.layers.Linear": 3,
        "bias.grad matches bprop.layers.Linear": 1,
        "backward sets gradients (no accumulation)": 1,
        "a Linear-Tanh-Linear stack passes the gradient checker": 0,
    }


def test_broken_files_cost_only_their_exercise(reference):
    (reference / "linear.py").write_text("def oops(:\n")
    (reference / "sgd.py").unlink()
    _mutate(reference, "sigmoid.py", "y = self._y\n", "y = self._y\n        y = y[7]\n")
    line = (reference / "sigmoid.py").read_text().splitlines().index("        y = y[7]") + 1
    report = {e.name: e for e in grade(reference).exercises}
    assert report["linear"].points == 0
    assert report["linear"].message.startswith("could not import linear.py: SyntaxError at line 1")
    assert report["sgd"].message == "could not import sgd.py: FileNotFoundError: sgd.py is missing"
    assert report["sigmoid"].points == 0
    assert report["sigmoid"].message.startswith(f"IndexError at line {line} of sigmoid.py")
    assert report["softmax_nll"].passed and report["custom_layer"].passed


def test_an_endless_loop_is_stopped(reference):
    _mutate(reference, "sigmoid.py", "y = self._y\n", "y = self._y\n        while True:\n"
            "            pass\n")
    exercise = next(e for e in EXERCISES if e.name == "sigmoid")
    result = grade_exercise(exercise, reference, time_limit=0.2)
    assert result.points == 0
    assert "stopped after 0.2 s" in result.message


def test_markers_must_balance():
    with pytest.raises(ValueError, match="x.py:2: BEGIN SOLUTION inside the block opened at"):
        strip_solutions("# BEGIN SOLUTION\n# BEGIN SOLUTION\n", "x.py")
    with pytest.raises(ValueError, match="x.py:1: END SOLUTION without BEGIN SOLUTION"):
        strip_solutions("# END SOLUTION\n", "x.py")
    with pytest.raises(ValueError, match="x.py:1: BEGIN SOLUTION is never closed"):
        strip_solutions("# BEGIN SOLUTION: h\nx = 1\n", "x.py")
    source = "def f():\n    # BEGIN SOLUTION: add one\n    return 1\n    # END SOLUTION\n"
    assert strip_solutions(source) == "def f():\n    raise NotImplementedError('add one')\n"
    assert keep_solutions(source) == "def f():\n    return 1\n"


def test_cli_make_then_grade_round_trip(tmp_path, capsys):
    out = tmp_path / "hw"
    assert exercises_main(["make", str(out)]) == 0
    assert exercises_main(["make", str(out)]) == 2  # never overwrites a student's work
    assert "already exists; use --force" in capsys.readouterr().err
    assert exercises_main(["grade", str(out)]) == 1
    table = capsys.readouterr().out
    assert "sigmoid           0/10  FAIL" in table and "total             0/60" in table
    assert json.loads((out / "grades.json").read_text())["points"] == 0

    assert exercises_main(["make", str(out), "--solutions", "--force"]) == 0
    json_path = tmp_path / "g.json"
    assert exercises_main(["grade", str(out), "--only", "sgd", "--json", str(json_path)]) == 0
    data = json.loads(json_path.read_text())
    assert [e["name"] for e in data["exercises"]] == ["sgd"]
    assert data["exercises"][0]["checks"][0] == {
        "description": "plain step: value -= lr * grad", "points": 3, "max_points": 3,
        "passed": True, "message": "", "grad_error": None,
    }
    assert exercises_main(["grade", str(tmp_path / "nowhere")]) == 2


def test_bprop_command_has_the_exercises_subcommand(tmp_path):
    cli = pytest.importorskip("bprop.cli")
    assert cli.main(["exercises", "make", str(tmp_path / "hw")]) == 0
    assert cli.main(["exercises", "grade", str(tmp_path / "hw"), "--only", "sigmoid"]) == 1


def test_python_m_entry_point(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bprop.exercises", "make", str(tmp_path / "hw")],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "hw" / "custom_layer.py").exists()


def test_grade_class_script_writes_one_csv_row_per_student(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        "grade_class", Path(__file__).resolve().parent.parent / "exercises" / "grade_class.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    make(tmp_path / "class" / "alice", solutions=True)
    make(tmp_path / "class" / "bob")
    assert script.main([str(tmp_path / "class"), "--csv", str(tmp_path / "g.csv")]) == 0
    lines = (tmp_path / "g.csv").read_text().splitlines()
    assert lines == [
        "student,sigmoid,linear,softmax_nll,sgd,value_gate,custom_layer,total",
        "alice,10,10,10,10,10,10,60",
        "bob,0,0,0,0,0,0,0",
    ]
    assert (tmp_path / "class" / "bob" / "grades.json").exists()
    assert script.main([str(tmp_path / "nowhere")]) == 2
