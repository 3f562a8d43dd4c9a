"""The homework kit: make the student version, grade it, name the mistakes, resist tricks."""

import csv
import importlib.util
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bprop.exercises import EXERCISES, grade, keep_solutions, make, strip_solutions
from bprop.exercises.cli import main as exercises_main
from bprop.exercises.grading import grade_exercise
from bprop.exercises.runner import load_student_module

MAX_POINTS = sum(e.points for e in EXERCISES)
BY_NAME = {e.name: e for e in EXERCISES}
_count = itertools.count()


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


def grade_here(directory: Path, name: str) -> list[tuple[int, int, str]]:
    """Run one exercise's checks in this process: (points, max_points, message) per check.

    The messages come from the checks themselves; the isolation of the real
    grader (a process per exercise) is tested separately, with `grade`.
    """
    exercise = BY_NAME[name]
    module = load_student_module(str(directory / exercise.filename), f"t_{name}_{next(_count)}")
    results = []
    for check in exercise.checks:
        try:
            with np.errstate(all="ignore"):
                outcome = check.run(module)
            passed, message = outcome.passed, outcome.message
        except NotImplementedError as err:
            passed, message = False, f"not implemented yet (hint: {err})"
        except Exception as err:
            passed, message = False, f"{type(err).__name__}: {err}"
        results.append((check.points if passed else 0, check.points, message))
    return results


def test_there_are_the_six_required_exercises():
    assert [e.name for e in EXERCISES] == [
        "sigmoid", "linear", "softmax_nll", "sgd", "value_gate", "custom_layer"
    ]
    assert all(e.points == 10 for e in EXERCISES)


def test_reference_solutions_earn_full_marks_and_the_blank_kit_zero(reference, student):
    report = grade(reference)
    assert (report.points, report.max_points) == (MAX_POINTS, MAX_POINTS), str(report)
    assert all(e.passed and e.message == "" for e in report.exercises)
    errors = [e.grad_error for e in report.exercises if e.grad_error is not None]
    assert len(errors) == 5 and max(errors) < 1e-6  # every exercise but SGD is gradchecked
    blank = grade(student)
    assert blank.points == 0
    for e in blank.exercises:
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
    ("sigmoid.py", "y = self._y\n        return dy * y * (1.0 - y)",
     "y = self._y\n        y *= 1.0 - y\n        return dy * y",
     "sigmoid", "backward changed the cached output y in place"),
    ("linear.py", "return dy @ W.T", "return dy @ W",
     "linear", "W is not transposed"),
    ("linear.py", "self.weight.grad = x.T @ dy", "self.weight.grad = dy.T @ x",
     "linear", "dW is transposed"),
    ("linear.py", "self.bias.grad = dy.sum(axis=0)", "self.bias.grad = dy.mean(axis=0)",
     "linear", "divided by N"),
    ("linear.py", "self.weight.grad = x.T @ dy", "self.weight.grad += x.T @ dy",
     "linear", "gradients accumulate across calls"),
    ("linear.py", "self.bias.grad = dy.sum(axis=0)", "pass",
     "linear", "bias.grad is still 0: backward never set it"),
    ("softmax_nll.py", "return dz / n", "return dz",
     "softmax_nll", "forgot the 1/N"),
    ("softmax_nll.py", "self._labels].mean())", "self._labels].sum())",
     "softmax_nll", "returns the sum over the batch"),
    ("softmax_nll.py", "z = scores - scores.max(axis=1, keepdims=True)", "z = scores",
     "softmax_nll", "overflow"),
    ("softmax_nll.py",
     "z = scores - scores.max(axis=1, keepdims=True)\n"
     "        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))",
     "z = scores - scores.max(axis=0, keepdims=True)\n"
     "        log_p = z - np.log(np.exp(z).sum(axis=0, keepdims=True))",
     "softmax_nll", "softmax normalised over the wrong axis"),
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
    ("custom_layer.py", "return x * self._s", "x *= self._s\n        return x",
     "custom_layer", "forward changed its input x in place"),
]


@pytest.mark.parametrize("filename,old,new,name,words", MISTAKES,
                         ids=[f"{m[3]}:{m[4][:24]}" for m in MISTAKES])
def test_typical_mistakes_lose_points_with_a_message_naming_them(
    reference, filename, old, new, name, words
):
    _mutate(reference, filename, old, new)
    results = grade_here(reference, name)
    assert sum(r[0] for r in results) < sum(r[1] for r in results)
    messages = [m for p, full, m in results if p < full]
    assert any(words in m for m in messages), messages
    # T3: the "+=" message only where the code does accumulate.
    if "+=" not in new:
        assert not any("do not +=" in m for m in messages), messages


def test_softmax_over_the_wrong_axis_is_named_not_just_wrong(reference):
    _mutate(reference, "softmax_nll.py",
            "z = scores - scores.max(axis=1, keepdims=True)\n"
            "        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))",
            "z = scores - scores.max(axis=0, keepdims=True)\n"
            "        log_p = z - np.log(np.exp(z).sum(axis=0, keepdims=True))")
    forward, *_ = grade_here(reference, "softmax_nll")
    assert forward[0] == 0 and "wrong axis" in forward[2] and "is wrong" not in forward[2]


NOISY_LAYER = '''
import numpy as np
from bprop.layers import Layer
from bprop.parameter import Parameter


class MyLayer(Layer):
    """y = (x + noise) * a, noise ~ N(0, 0.1) drawn from the layer's own generator."""

    def __init__(self, n_features):
        self.a = Parameter(np.linspace(0.5, 1.5, n_features), "a", decay=False)
        self.gen = np.random.default_rng(123)

    def forward(self, x):
        self._z = x + 0.1 * self.gen.standard_normal(x.shape)
        return self._z * self.a.value

    def backward(self, dy):
        self.a.grad = (dy * self._z).sum(axis=0)
        return dy * self.a.value
'''


def test_a_correct_layer_drawing_from_its_own_generator_keeps_every_point(reference):
    (reference / "custom_layer.py").write_text(NOISY_LAYER)
    results = grade_here(reference, "custom_layer")
    assert [r[0] for r in results] == [r[1] for r in results], results


def test_correct_but_different_solutions_lose_no_point(reference):
    # Written differently from the reference, all right: none may lose a point.
    _mutate(reference, "sigmoid.py", "y = self._y\n        return dy * y * (1.0 - y)",
            "return dy * (self._y - self._y ** 2)")
    _mutate(reference, "linear.py", "self.bias.grad = dy.sum(axis=0)",
            "self.bias.grad = np.ones(len(dy)) @ dy")
    _mutate(reference, "softmax_nll.py", "return dz / n", "return dz * (1.0 / n)")
    _mutate(reference, "sgd.py", "p.value -= self.lr * g", "p.value = p.value - self.lr * g")
    _mutate(reference, "value_gate.py", "x.grad += 0.5 * (1.0 + math.tanh(0.5 * x.data))",
            "x.grad += 1.0 / (1.0 + math.exp(-x.data))")
    for name in ("sigmoid", "linear", "softmax_nll", "sgd", "value_gate"):
        results = grade_here(reference, name)
        assert [r[0] for r in results] == [r[1] for r in results], (name, results)


def test_a_failing_dx_still_earns_the_parameter_gradient_points(reference):
    _mutate(reference, "linear.py", "return dy @ W.T", "return dy @ W")
    earned = [r[0] for r in grade_here(reference, "linear")]
    assert earned == [0, 3, 1, 1, 0]


# -- the grader cannot be fooled (T2) ------------------------------------------------

def test_the_library_class_is_not_the_students_own(student):
    (student / "sigmoid.py").write_text("from bprop.layers import Sigmoid\n")
    (student / "linear.py").write_text(
        "import bprop.layers\n\nclass Linear(bprop.layers.Linear):\n    pass\n")
    (student / "softmax_nll.py").write_text(
        "from bprop import losses\n\nclass SoftmaxNLL:\n"
        "    def __init__(self):\n        self.impl = losses.SoftmaxNLL()\n"
        "    def forward(self, s, t):\n        return self.impl.forward(s, t)\n"
        "    def backward(self):\n        return self.impl.backward()\n")
    (student / "sgd.py").write_text("from bprop.optim import SGD as _S\n\nSGD = _S\n")
    only = ["sigmoid", "linear", "softmax_nll", "sgd"]
    report = {e.name: e for e in grade(student, only=only).exercises}
    assert sum(e.points for e in report.values()) == 0
    assert "Sigmoid is bprop.layers.Sigmoid, imported from the library" in \
        report["sigmoid"].message
    assert "Linear subclasses bprop.layers.Linear" in report["linear"].message
    assert "calls bprop.losses.SoftmaxNLL.forward" in report["softmax_nll"].message
    assert "SGD is bprop.optim.SGD" in report["sgd"].message
    assert all("write" in e.message and "yourself" in e.message for e in report.values())


PATCHES = {
    "grading function": "import bprop.exercises.checks.sigmoid as c\n"
                        "from bprop.exercises.spec import Outcome\n"
                        "c._values = lambda mod: Outcome(True)\n",
    "tolerance": "import bprop.exercises.checks._tools as t\nt.RTOL = 1e9\n",
    "numpy": "import numpy\nnumpy.allclose = lambda *a, **k: True\n",
    "library class": "import bprop.layers\nbprop.layers.Sigmoid.backward = lambda s, dy: dy\n",
    "gradient checker": "import bprop.gradcheck as g\ng.GAP_BAND = 1e300\n",
    "builtins": "import builtins\nbuiltins.abs = lambda x: 0\n",
}


@pytest.mark.parametrize("what", PATCHES)
def test_patching_the_grader_or_the_library_scores_zero_and_says_so(student, what):
    # A wrong backward plus a patch that would make it look right.
    text = (student / "sigmoid.py").read_text()
    text = text.replace('raise NotImplementedError("sigma\'(x) can be written with the output '
                        'y = self._y alone")', "return dy")
    (student / "sigmoid.py").write_text(PATCHES[what] + text)
    (result,) = grade(student, only=["sigmoid"]).exercises
    assert result.points == 0
    assert "sigmoid.py changed" in result.message and "0 points" in result.message


def test_exit_crash_loop_and_memory_are_that_exercises_error(reference, tmp_path):
    for name, code in [("sigmoid.py", "import sys\nsys.exit(0)\n"),
                       ("linear.py", "import os\nos._exit(0)\n"),
                       ("softmax_nll.py", "import ctypes\nctypes.string_at(0)\n"),
                       ("sgd.py", "while True:\n    pass\n"),
                       ("value_gate.py", "x = bytearray(4 * 1024 ** 3)\n")]:
        (reference / name).write_text(code)
    status = exercises_main(["grade", str(reference), "--time-limit", "2", "--memory", "1024"])
    assert status == 1
    data = json.loads((reference / "grades.json").read_text())
    by_name = {e["name"]: e for e in data["exercises"]}
    assert data["points"] == 10 and by_name["custom_layer"]["points"] == 10
    assert "SystemExit at line 2 of sigmoid.py" in by_name["sigmoid"]["message"]
    assert "exit status 0" in by_name["linear"]["message"]
    assert "crashed (SIGSEGV)" in by_name["softmax_nll"]["message"]
    assert "stopped after 2 s" in by_name["sgd"]["message"]
    assert "MemoryError at line 1 of value_gate.py" in by_name["value_gate"]["message"]
    assert (reference / "feedback.md").exists()


def test_killing_the_grader_or_forging_results_costs_that_exercise_only(reference):
    (reference / "sigmoid.py").write_text("import os, signal\nos.kill(os.getppid(), "
                                          "signal.SIGKILL)\n")
    (reference / "sgd.py").write_text("import os, signal\nos.killpg(0, signal.SIGKILL)\n")
    # Fake "passed" lines on every file descriptor the process has, then a silent exit.
    (reference / "linear.py").write_text(
        "import json, os\n"
        "for fd in range(3, 64):\n"
        "    for i in range(5):\n"
        "        try:\n"
        "            os.write(fd, (json.dumps({'kind': 'check', 'index': i, 'passed': True,"
        " 'message': ''}) + '\\n').encode())\n"
        "        except OSError:\n"
        "            pass\n"
        "os._exit(0)\n")
    report = {e.name: e for e in grade(reference, only=["sigmoid", "linear", "sgd",
                                                        "value_gate"]).exercises}
    assert [e.points for e in report.values()] == [0, 0, 0, 10]
    assert "killed from inside" in report["sigmoid"].message
    assert "killed from inside" in report["sgd"].message
    assert "exit status 0" in report["linear"].message


def test_an_endless_loop_in_a_check_costs_that_check_only(reference):
    _mutate(reference, "sigmoid.py", "y = self._y\n", "y = self._y\n        while True:\n"
            "            pass\n")
    result = grade_exercise(BY_NAME["sigmoid"], reference, time_limit=0.5)
    assert result.points == 0
    assert "stopped after 0.5 s" in result.message


def test_broken_files_cost_only_their_exercise_with_line_numbers(reference, monkeypatch):
    (reference / "linear.py").write_text("def oops(:\n")
    (reference / "sgd.py").unlink()
    _mutate(reference, "sigmoid.py", "y = self._y\n", "y = self._y\n        y = y[7]\n")
    line = (reference / "sigmoid.py").read_text().splitlines().index("        y = y[7]") + 1
    monkeypatch.chdir(reference)  # a relative directory, as the student README says
    report = {e.name: e for e in grade(".").exercises}
    assert report["linear"].points == 0
    assert report["linear"].message.startswith("could not import linear.py: SyntaxError at line 1")
    assert report["sgd"].message == "could not import sgd.py: FileNotFoundError: sgd.py is missing"
    assert report["sigmoid"].points == 0
    assert report["sigmoid"].message.startswith(f"IndexError at line {line} of sigmoid.py")
    assert report["softmax_nll"].passed and report["custom_layer"].passed


# -- for the teacher --------------------------------------------------------------

TEACHER_FILE = '''
import numpy as np
from bprop.exercises import Check, Outcome

POINTS = {"sigmoid": 20, "sgd": {"plain step: value -= lr * grad": 5}}


def stable(mod):
    layer = mod.Sigmoid()
    layer.forward(np.array([[800.0, -800.0]]))
    dx = layer.backward(np.ones((1, 2)))
    return Outcome(bool(np.isfinite(dx).all()), "backward overflows at |x| = 800")


def has_docstring(mod):
    return bool(mod.SGD.step.__doc__)


CHECKS = {"sigmoid": [Check("stable at |x| = 800", 2, stable)],
          "sgd": [Check("step has a docstring", 1, has_docstring)]}
'''


def test_teacher_file_sets_points_and_adds_hidden_checks(reference, tmp_path, capsys):
    teacher = tmp_path / "teacher.py"
    teacher.write_text(TEACHER_FILE)
    report = grade(reference, only=["sigmoid", "sgd"], teacher=teacher)
    sigmoid, sgd = report.exercises
    assert (sigmoid.points, sigmoid.max_points) == (22, 22)  # 6 + 4 scaled to 20, + 2 hidden
    assert [c.max_points for c in sigmoid.checks] == [12, 8, 2]
    assert sigmoid.checks[-1].hidden and sigmoid.checks[-1].passed
    assert (sgd.points, sgd.max_points) == (13, 13)  # 3 -> 5, + 1 hidden
    _mutate(reference, "sigmoid.py", "self._y = 0.5 * (1.0 + np.tanh(0.5 * x))",
            "self._y = 1.0 / (1.0 + np.exp(-x))\n        self._y = np.nan * self._y")
    assert exercises_main(["grade", str(reference), "--only", "sigmoid", "--teacher",
                           str(teacher)]) == 1
    feedback = (reference / "feedback.md").read_text()
    assert "stable at |x| = 800 (hidden check): 0/2" in feedback
    # A student file cannot switch a hidden check off.
    _mutate(reference, "sigmoid.py", "import numpy as np\n",
            "import numpy as np\nimport sys\nsys.modules['bprop_teacher_file'].stable = "
            "lambda mod: True\n")
    (result,) = grade(reference, only=["sigmoid"], teacher=teacher).exercises
    assert result.points == 0 and "changed bprop_teacher_file.stable" in result.message
    teacher.write_text("POINTS = {'nope': 3}\n")
    assert exercises_main(["grade", str(reference), "--teacher", str(teacher)]) == 2
    assert "names the exercise 'nope'" in capsys.readouterr().err


def test_grade_class_isolates_students_and_writes_csv_grades_feedback(tmp_path, capsys):
    klass = tmp_path / "class"
    make(klass / "alice", solutions=True)
    make(tmp_path / "blank")
    (klass / "bob").mkdir()
    (klass / "bob" / "sigmoid.py").write_bytes((tmp_path / "blank" / "sigmoid.py").read_bytes())
    (klass / "carol").mkdir()
    # carol loops at import in one file and rewrites a classmate's file in another
    (klass / "carol" / "sgd.py").write_text("while True:\n    pass\n")
    (klass / "carol" / "sigmoid.py").write_text(
        "import pathlib\n"
        "for p in pathlib.Path(__file__).resolve().parents[2].rglob('alice*/sigmoid.py'):\n"
        "    p.write_text('x = 1 / 0\\n')\n"
        "from bprop.layers import Sigmoid\n")
    status = exercises_main(["grade-class", str(klass), "--csv", str(tmp_path / "g.csv"),
                             "--time-limit", "2"])
    assert status == 0
    rows = list(csv.DictReader((tmp_path / "g.csv").open()))
    assert [r["student"] for r in rows] == ["alice", "bob", "carol"]
    assert list(rows[0])[:8] == ["student", "sigmoid", "linear", "softmax_nll", "sgd",
                                 "value_gate", "custom_layer", "total"]
    assert (rows[0]["total"], rows[1]["total"], rows[2]["total"]) == ("60", "0", "0")
    assert "linear.py is missing" in json.loads((klass / "bob" / "grades.json").read_text())[
        "exercises"][1]["message"]
    for name in ("alice", "bob", "carol"):
        assert json.loads((klass / name / "grades.json").read_text())["max_points"] == 60
        assert (klass / name / "feedback.md").read_text().startswith(f"# Feedback: {name}")
    carol = json.loads((klass / "carol" / "grades.json").read_text())
    assert "stopped after 2 s" in carol["exercises"][3]["message"]
    assert "imported from the library" in carol["exercises"][0]["message"]
    assert exercises_main(["grade-class", str(tmp_path / "nowhere")]) == 2


def test_grade_class_script_is_the_installed_command(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "grade_class", Path(__file__).resolve().parent.parent / "exercises" / "grade_class.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    make(tmp_path / "ref", solutions=True)
    (tmp_path / "class" / "alice").mkdir(parents=True)
    (tmp_path / "class" / "alice" / "sgd.py").write_text((tmp_path / "ref" / "sgd.py").read_text())
    assert script.main([str(tmp_path / "class"), "--csv", str(tmp_path / "g.csv")]) == 0
    row = (tmp_path / "g.csv").read_text().splitlines()[1]
    assert row.startswith("alice,0,0,0,10,0,0,10,60,,")  # no error; the notes column:
    assert "[sgd] sgd.py is identical to the reference solution" in row


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
    assert exercises_main(["grade", str(out), "--only", "sgd"]) == 1
    table = capsys.readouterr().out
    assert "sgd               0/10  FAIL" in table and "total             0/10" in table
    assert json.loads((out / "grades.json").read_text())["points"] == 0
    assert "## SGD with weight decay (`sgd.py`): 0/10" in (out / "feedback.md").read_text()

    assert exercises_main(["make", str(out), "--solutions", "--force"]) == 0
    json_path = tmp_path / "g.json"
    assert exercises_main(["grade", str(out), "--only", "sgd", "--json", str(json_path)]) == 0
    data = json.loads(json_path.read_text())
    assert [e["name"] for e in data["exercises"]] == ["sgd"]
    assert data["exercises"][0]["checks"][0] == {
        "description": "plain step: value -= lr * grad", "points": 3, "max_points": 3,
        "passed": True, "message": "", "grad_error": None, "hidden": False,
    }
    assert (tmp_path / "feedback.md").exists()
    assert exercises_main(["grade", str(tmp_path / "nowhere")]) == 2


def test_bprop_command_has_the_exercises_subcommand(tmp_path):
    cli = pytest.importorskip("bprop.cli")
    assert cli.main(["exercises", "make", str(tmp_path / "hw")]) == 0
    assert cli.main(["exercises", "grade", str(tmp_path / "hw"), "--only", "sigmoid"]) == 1


def test_python_m_entry_point(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bprop.exercises", "make", str(tmp_path / "hw")],
        capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "hw" / "custom_layer.py").exists()


# -- notebooks ---------------------------------------------------------------------

def test_notebook_stub_filled_with_the_solution_earns_full_marks(tmp_path, capsys):
    nbformat = pytest.importorskip("nbformat")
    hw = tmp_path / "hw"
    assert exercises_main(["make", str(hw), "--format", "ipynb"]) == 0
    assert sorted(p.name for p in hw.glob("*.ipynb")) == sorted(
        Path(e.filename).stem + ".ipynb" for e in EXERCISES)
    notebook = nbformat.read(hw / "sigmoid.ipynb", as_version=4)
    task, stub, check = notebook.cells
    assert task.cell_type == "markdown" and "Sigmoid backward" in task.source
    assert "raise NotImplementedError(" in stub.source
    assert "bprop-check" in check.metadata["tags"] and "check_here('sigmoid'" in check.source
    # The student fills the stub with the solution (and runs a magic and the check cell).
    solution = keep_solutions((Path(__file__).resolve().parents[1] / "bprop" / "exercises"
                               / "solutions" / "sigmoid.py").read_text())
    stub.source = "%matplotlib inline\n" + solution.split('"""', 2)[2]
    nbformat.write(notebook, hw / "sigmoid.ipynb")
    report = grade(hw, only=["sigmoid", "linear"])
    sigmoid, linear = report.exercises
    assert (sigmoid.points, sigmoid.filename) == (10, "sigmoid.ipynb"), str(report)
    assert linear.points == 0 and linear.message.startswith("not implemented yet")
    # The check cell runs the same checks in the notebook's own process.
    namespace: dict = {}
    exec(solution, namespace)
    from bprop.exercises.notebooks import check_here

    assert check_here("sigmoid", namespace)
    assert "sigmoid: 10/10" in capsys.readouterr().out


# -- the solutions and the library agree (issue 11, item 7) ------------------------

def _solution(name: str):
    path = Path(__file__).resolve().parents[1] / "bprop" / "exercises" / "solutions" / name
    return load_student_module(str(path), f"solution_{path.stem}_{next(_count)}")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_solutions_and_library_agree_on_random_inputs(seed):
    from bprop import layers, losses, optim
    from bprop.parameter import Parameter

    rng = np.random.default_rng(seed)
    n, d_in, d_out = rng.integers(1, 9), rng.integers(1, 7), rng.integers(1, 7)
    x, dy = rng.normal(size=(n, d_in)) * 3, rng.normal(size=(n, d_in))
    mine, lib = _solution("sigmoid.py").Sigmoid(), layers.Sigmoid()
    np.testing.assert_allclose(mine.forward(x), lib.forward(x), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(mine.backward(dy), lib.backward(dy), rtol=1e-12, atol=1e-15)

    mine, lib = _solution("linear.py").Linear(d_in, d_out, rng=seed), layers.Linear(d_in, d_out)
    lib.weight.value[...], lib.bias.value[...] = mine.weight.value, rng.normal(size=d_out)
    mine.bias.value = lib.bias.value.copy()
    dy = rng.normal(size=(n, d_out))
    np.testing.assert_allclose(mine.forward(x), lib.forward(x), rtol=1e-12)
    np.testing.assert_allclose(mine.backward(dy), lib.backward(dy), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(mine.weight.grad, lib.weight.grad, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(mine.bias.grad, lib.bias.grad, rtol=1e-12, atol=1e-14)

    k = int(rng.integers(2, 6))
    scores, labels = rng.normal(size=(n, k)) * 5, rng.integers(0, k, n)
    mine, lib = _solution("softmax_nll.py").SoftmaxNLL(), losses.SoftmaxNLL()
    assert mine.forward(scores, labels) == pytest.approx(lib.forward(scores, labels), rel=1e-12)
    np.testing.assert_allclose(mine.backward(), lib.backward(), rtol=1e-10, atol=1e-15)

    def params():
        r = np.random.default_rng(seed + 10)
        ps = [Parameter(r.normal(size=(3, 2)), "w"), Parameter(r.normal(size=2), "b",
                                                               decay=False)]
        for p in ps:
            p.grad = r.normal(size=p.value.shape)
        return ps

    a, b = params(), params()
    lr, wd = float(rng.uniform(0.01, 0.5)), float(rng.uniform(0, 0.1))
    _solution("sgd.py").SGD(a, lr=lr, weight_decay=wd).step()
    optim.SGD(b, lr, weight_decay=wd).step()
    for p, q in zip(a, b, strict=True):
        np.testing.assert_allclose(p.value, q.value, rtol=1e-12)


# Tricks a tester used to score 10/10 on a blank kit. Each must score 0 for that
# exercise with a message naming what the file did.
SIGMOID_TRICKS = {
    "wrapped": ("import bprop.layers as L\nfrom bprop.layers import Layer\n"
                "_fw = L.Sigmoid.forward.__wrapped__\n_bw = L.Sigmoid.backward.__wrapped__\n"
                "class Sigmoid(Layer):\n"
                "    def forward(self, x): return _fw(self, x)\n"
                "    def backward(self, dy): return _bw(self, dy)\n",
                ["is bprop.layers.Sigmoid.", "from the library"]),
    "closure": ("import bprop.layers as L\nfrom bprop.layers import Layer\n"
                "_bw = [c.cell_contents for c in L.Sigmoid.backward.__closure__\n"
                "       if callable(c.cell_contents)][0]\n"
                "class Sigmoid(Layer):\n"
                "    def forward(self, x):\n"
                "        import numpy as np\n"
                "        self._y = 0.5 * (1 + np.tanh(0.5 * x))\n        return self._y\n"
                "    def backward(self, dy): return _bw(self, dy)\n",
                ["_bw is bprop.layers.Sigmoid.backward from the library"]),
    "execname": ("src = '''\nimport bprop.layers as L\nfrom bprop.layers import Layer\n"
                 "class Sigmoid(Layer):\n    def __init__(self): self._i = L.Sigmoid()\n"
                 "    def forward(self, x): return self._i.forward(x)\n"
                 "    def backward(self, dy): return self._i.backward(dy)\n'''\n"
                 "exec(compile(src, 'helpers.py', 'exec'), globals())\n",
                 ["is code built at run time from 'helpers.py'", "not written in sigmoid.py"]),
    "copycode": ("import types, bprop.layers as L\nfrom bprop.layers import Layer\n"
                 "def _clone(f):\n    f = getattr(f, '__wrapped__', f)\n"
                 "    return types.FunctionType(f.__code__, f.__globals__, f.__name__,\n"
                 "                              f.__defaults__, f.__closure__)\n"
                 "class Sigmoid(Layer):\n    forward = _clone(L.Sigmoid.forward)\n"
                 "    backward = _clone(L.Sigmoid.backward)\n",
                 ["is bprop.layers.Sigmoid.", "from the library"]),
    "solexec": ("import bprop.exercises, pathlib\n"
                "exec((pathlib.Path(bprop.exercises.__file__).parent / 'solutions' / "
                "'sigmoid.py').read_text())\n",
                ["read sigmoid.py from bprop/exercises/solutions"]),
    "peek": ("import sys, numpy as np\nfrom bprop.layers import Layer\n"
             "class _Liar:\n    def __init__(self, shape): self.shape = shape\n"
             "    def __array__(self, dtype=None, copy=None):\n"
             "        f = sys._getframe(1)\n        while f is not None:\n"
             "            if 'expected' in f.f_locals:\n"
             "                return np.asarray(f.f_locals['expected'], dtype=dtype)\n"
             "            f = f.f_back\n        return np.zeros(self.shape)\n"
             "class Sigmoid(Layer):\n    def forward(self, x):\n"
             "        self._y = 0.5 * (1 + np.tanh(0.5 * x)); return self._y\n"
             "    def backward(self, dy):\n"
             "        if sys._getframe(1).f_code.co_name == '_values': return _Liar(dy.shape)\n"
             "        return dy\n",
             ["dx must be a numpy array", "got _Liar"]),
    "identity": ("from bprop.layers import Layer\nclass Sigmoid(Layer):\n"
                 "    def forward(self, x): return x\n    def backward(self, dy): return dy\n",
                 ["forward no longer computes sigma(x)"]),
}


def _embedded_solution_trick() -> str:
    """The reference's code pasted into a string and run under another file name."""
    from bprop.exercises.kit import keep_solutions, solution_source

    return f"exec(compile({keep_solutions(solution_source('sigmoid.py'))!r}, 'x.py', 'exec'))\n"


SIGMOID_TRICKS["pasted-solution"] = (_embedded_solution_trick(),
                                     ["the reference solution from "
                                      "bprop/exercises/solutions/sigmoid.py"])


@pytest.mark.parametrize("trick", SIGMOID_TRICKS)
def test_tricks_score_zero_and_are_named(student, trick, capsys):
    source, words = SIGMOID_TRICKS[trick]
    (student / "sigmoid.py").write_text(source)
    (result,) = grade(student, only=["sigmoid"], time_limit=10).exercises
    assert result.points == 0, result.message
    every = " ".join(c.message for c in result.checks)
    for word in words:
        assert word in every, every
    if trick != "identity":  # the identity layer fails its checks; the tricks are refused
        assert "0 points" in result.message or trick == "peek", result.message
    # Points lost: the exit status says so (exercises/README.md).
    assert exercises_main(["grade", str(student), "--only", "sigmoid", "--time-limit",
                           "10"]) == 1
    capsys.readouterr()


def test_a_file_rewriting_its_siblings_changes_nothing_graded(reference):
    (reference / "sigmoid.py").write_text(
        "import pathlib\n"
        "(pathlib.Path(__file__).parent / 'linear.py').write_text('raise SystemExit(0)\\n')\n"
        + (reference / "sigmoid.py").read_text())
    before = (reference / "linear.py").read_bytes()
    report = {e.name: e for e in grade(reference, only=["sigmoid", "linear"]).exercises}
    assert report["linear"].points == 10  # graded from its own copy, read before anything ran
    assert report["sigmoid"].points == 0
    assert "sigmoid.py changed linear.py while it was graded" in report["sigmoid"].message
    assert (reference / "linear.py").read_bytes() == before  # the submission itself untouched


def test_a_file_writing_into_the_submission_is_noted_and_graded_from_the_snapshot(reference):
    target = reference.resolve() / "linear.py"
    (reference / "sigmoid.py").write_text(
        f"import pathlib\npathlib.Path({str(target)!r}).write_text('raise SystemExit(0)\\n')\n"
        + (reference / "sigmoid.py").read_text())
    report = {e.name: e for e in grade(reference, only=["sigmoid", "linear"]).exercises}
    assert report["linear"].points == 10
    assert any("linear.py changed in" in n and "graded as it was before" in n
               for n in report["linear"].notes)


def test_the_shipped_reference_is_refused_verbatim_and_noted_when_made(student, reference):
    from bprop.exercises.kit import solution_source

    (student / "sigmoid.py").write_text(solution_source("sigmoid.py"))  # markers and all
    (result,) = grade(student, only=["sigmoid"]).exercises
    assert result.points == 0 and "reference solution shipped in" in result.message
    # `make --solutions` output: the teacher's own kit keeps its points, with a note.
    (result,) = grade(reference, only=["value_gate"]).exercises
    assert result.points == 10
    assert result.notes and "identical to the reference solution" in result.notes[0]


def test_student_outputs_must_be_plain_arrays():
    from bprop.exercises.checks._tools import own_array, own_float
    from bprop.exercises.spec import StudentOutputError

    class Sub(np.ndarray):
        pass

    x = np.arange(3.0)
    copy = own_array("dx", x)
    assert copy is not x and copy.dtype == np.float64 and np.array_equal(copy, x)
    assert own_float("x.grad", 2) == 2.0
    for bad in (x.view(Sub), [1.0, 2.0], np.array([object()]), "1"):
        with pytest.raises(StudentOutputError, match="must be a numpy array"):
            own_array("dx", bad)


def test_unusual_but_own_code_keeps_every_point(student):
    """Nested functions with annotations, a dataclass, a lambda, a helper class: all the
    student's own (compiled from their file), so provenance checks must not refuse them."""
    (student / "sigmoid.py").write_text(
        "from __future__ import annotations\n"
        "import dataclasses\nimport numpy as np\nfrom bprop.layers import Layer\n\n"
        "@dataclasses.dataclass\nclass _Cache:\n    y: np.ndarray | None = None\n\n"
        "_square = lambda a: a * a\n\n"
        "class Sigmoid(Layer):\n"
        "    def __init__(self):\n        self.cache = _Cache()\n\n"
        "    def forward(self, x: np.ndarray) -> np.ndarray:\n"
        "        self.cache.y = 1.0 / (1.0 + np.exp(-x))\n        return self.cache.y\n\n"
        "    def backward(self, dy: np.ndarray) -> np.ndarray:\n"
        "        def local(y: np.ndarray) -> np.ndarray:\n            return y - _square(y)\n"
        "        return dy * local(self.cache.y)\n")
    (result,) = grade(student, only=["sigmoid"]).exercises
    assert result.points == 10, result.message
    assert result.notes == []


_SIG_HEAD = ("import numpy as np\nfrom bprop.layers import Layer\nclass Sigmoid(Layer):\n"
             "    def forward(self, x):\n        self._y = 0.5 * (1.0 + np.tanh(0.5 * x))\n"
             "        return self._y\n")
# Round-12 tricks: (exercise, file text, words the refusal must contain).
ROUND12 = {
    "executor": ("sigmoid", "import concurrent.futures as cf, bprop.layers as L\n" + _SIG_HEAD
                 + "    def backward(self, dy):\n        t = L.Sigmoid(); t._y = self._y\n"
                 "        with cf.ThreadPoolExecutor(1) as ex:\n"
                 "            return ex.submit(t.backward, dy).result()\n",
                 ["Sigmoid.backward (in another thread)"]),
    "thread-sgd": ("sgd", "import threading, bprop.optim as O\nclass SGD:\n"
                   "    def __init__(self, params, lr, weight_decay=0.0):\n"
                   "        self.params, self.lr, self.wd = list(params), lr, weight_decay\n"
                   "    def step(self):\n        t = threading.Thread(target=O.SGD(self.params, "
                   "lr=self.lr, weight_decay=self.wd).step)\n        t.start(); t.join()\n",
                   ["step (in another thread)"]),
    "exec-source": ("sigmoid", "import inspect, bprop.layers.activations as A\n"
                    "ns = {'__name__': 'bprop.layers.helpers', '__package__': 'bprop.layers'}\n"
                    "exec(compile(inspect.getsource(A), 'helpers.py', 'exec'), ns)\n" + _SIG_HEAD
                    + "    def backward(self, dy):\n"
                    "        return ns['Sigmoid'].backward(self, dy)\n",
                    ["a copy of bprop.layers.", "with exec", "'helpers.py'"]),
    "exec-in-method": ("sigmoid", _SIG_HEAD + "    def backward(self, dy):\n"
                       "        import inspect, bprop.layers.activations as A\n"
                       "        ns = {'__name__': 'bprop.layers.h',\n"
                       "              '__package__': 'bprop.layers'}\n"
                       "        exec(compile(inspect.getsource(A), 'h.py', 'exec'), ns)\n"
                       "        return ns['Sigmoid'].backward(self, dy)\n",
                       ["a copy of bprop.layers.", "with exec", "'h.py'"]),
    "setprofile": ("sigmoid", "import sys\nsys.setprofile(lambda f, e, a: None)\n" + _SIG_HEAD
                   + "    def backward(self, dy):\n        return dy * 0.25\n",
                   ["installed sys.setprofile"]),
    "settrace": ("sigmoid", "import threading\nthreading.settrace(lambda f, e, a: None)\n"
                 + _SIG_HEAD + "    def backward(self, dy):\n        return dy * 0.25\n",
                 ["threading"]),
    "fused": ("sigmoid", "from bprop.fused.kernels import FusedSigmoid as F\n" + _SIG_HEAD
              + "    def backward(self, dy):\n        g = dy.copy()\n"
              "        F(None, *dy.shape, dy.dtype).backward(self._y, g)\n        return g\n",
              ["FusedSigmoid.backward"]),
    "frame-send": ("sigmoid", "import sys, os\nf = sys._getframe(0)\n"
                   "while f is not None and 'send' not in f.f_locals:\n    f = f.f_back\n"
                   "if f is not None:\n    L = f.f_locals\n    L['send'](kind='imported')\n"
                   "    for i, (d, p, r) in enumerate(L['checks']):\n"
                   "        L['send'](kind='check', index=i, description=d, points=p, passed=True,"
                   " message='', grad_error=1e-9)\n    L['send'](kind='done')\n"
                   + _SIG_HEAD + "    def backward(self, dy):\n        raise NotImplementedError\n",
                   ["not implemented yet"]),
    "composed-gate": ("value_gate", "from bprop.graph import Value\n"
                      "def softplus(x: Value) -> Value:\n    return (x.exp() + 1).log()\n",
                      ["ONE node", "(x.exp() + 1).log()"]),
}


@pytest.mark.parametrize("trick", ROUND12)
def test_round12_tricks_score_zero_and_are_named(student, trick):
    exercise, source, words = ROUND12[trick]
    (student / f"{exercise}.py").write_text(source)
    (result,) = grade(student, only=[exercise], time_limit=10).exercises
    assert result.points == 0, result.message
    every = " ".join([result.message, *(c.message for c in result.checks)])
    for word in words:
        assert word in every, every
