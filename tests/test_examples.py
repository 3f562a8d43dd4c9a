"""Every worked example runs and prints the numbers the lectures show."""

import importlib.util
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_circuit_add_mul(capsys, tmp_path):
    result = load("circuit_add_mul").main(["--dot", str(tmp_path / "circuit")])
    assert (result["q"], result["f"]) == (3.0, -12.0)
    assert (result["dx"], result["dy"], result["dz"]) == (-4.0, -4.0, 3.0)
    out = capsys.readouterr().out
    assert "reverse mode (bprop.graph.Value): df/dx = -4, df/dy = -4, df/dz = 3" in out
    assert "by hand and reverse mode agree: True" in out
    assert "data -12 | grad 1" in (tmp_path / "circuit.dot").read_text()


def test_sigmoid_neuron(capsys):
    result = load("sigmoid_neuron").main([])
    assert round(result["f"], 2) == 0.73
    expected = {"dw0": -0.20, "dx0": 0.39, "dw1": -0.39, "dx1": -0.59, "dw2": 0.20}
    assert {k: round(result[k], 2) for k in expected} == expected
    assert result["local_sigmoid"] == pytest.approx(0.1966, abs=1e-4)
    assert result["agree"]
    out = capsys.readouterr().out
    # The gate table of the slide: output, local gradient, upstream, passed down.
    assert "  1/x        0.73       -0.53      1.00           -0.53" in out
    assert "  exp        0.37        0.37     -0.53           -0.20" in out
    assert "  w1*x1      6.00      -2, -3      0.20    -0.39, -0.59" in out


def test_chain_rule_modes(capsys):
    result = load("chain_rule_modes").main(["--x", "1.0"])
    exact = -math.sin(math.sin(1.0) + 3.0) * (2 * math.cos(1.0) + 6.0)
    assert result["by hand"] == pytest.approx(exact, rel=1e-15)
    assert result["reverse mode"] == pytest.approx(exact, rel=1e-14)
    assert result["forward mode"] == pytest.approx(exact, rel=1e-14)
    assert result["finite differences"] == pytest.approx(exact, rel=1e-8)
    # Finite differences: too large an eps truncates, too small rounds.
    errors = result["fd_errors"]
    assert errors[1e-5] < errors[1e-1] and errors[1e-5] < errors[1e-11]
    out = capsys.readouterr().out
    assert "v1_bar = cos(v1) v2_bar + 3 v3_bar" in out
    assert "+4.5607917907" in out


def test_logistic_regression(capsys):
    result = load("logistic_regression").main([])
    assert result["p"] == pytest.approx(1 / (1 + math.exp(-1.5)))
    np.testing.assert_allclose(result["dw"], (result["p"] - 1) * np.array([1.0, -2.0, 3.0]))
    assert result["agree"]
    assert "all methods agree: True" in capsys.readouterr().out


def test_two_layer_network_reproduces_the_worked_example(capsys):
    result = load("two_layer_network").main(["--steps", "10000"])
    assert result["E"] == pytest.approx(0.298371109, abs=1e-9)
    assert result["dE_dw"][4] == pytest.approx(0.082167041, abs=1e-9)  # dE/dw5
    expected_w = [0.149780716, 0.19956143, 0.24975114, 0.29950229,
                  0.35891648, 0.408666186, 0.511301270, 0.561370121]
    np.testing.assert_allclose(result["weights_after_one_step"], expected_w, atol=1e-8)
    assert result["E_after_one_step"] == pytest.approx(0.291027, abs=1e-6)
    assert result["E_final"] == pytest.approx(3.51e-5, rel=1e-2)
    np.testing.assert_allclose(result["outputs_final"], [0.0159, 0.9841], atol=1e-4)
    assert result["agree"]
    assert "E_total = 0.298371109" in capsys.readouterr().out


def test_xor_single_layer_fails_hidden_layer_learns(capsys):
    result = load("xor").main(["--seed", "0"])
    for single in ("perceptron", "adaline (delta rule)", "one layer, backprop"):
        assert result[single] <= 0.75, single
    assert result["single_final_loss"] == pytest.approx(math.log(2), abs=1e-3)
    assert result["hidden layer, by hand"] == 1.0
    assert result["hidden layer, backprop"] == 1.0
    assert result["mlp_final_loss"] < 0.01
    assert "hidden layer, backprop" in capsys.readouterr().out


def test_differentiation_cost(capsys, tmp_path):
    rows = load("differentiation_cost").main(
        ["--max-dim", "32", "--repeats", "3", "--plot", str(tmp_path / "cost.png")]
    )
    assert [r["n"] for r in rows] == [1, 2, 4, 8, 16, 32]
    for r in rows:
        n = r["n"]
        assert (r["finite differences evaluations"], r["forward mode evaluations"],
                r["reverse mode evaluations"]) == (2 * n, n, 2)
        assert r["forward mode error"] < 1e-12 and r["finite differences error"] < 1e-8
    # At n = 32 forward mode needs 32 passes, reverse mode one forward and one backward.
    assert rows[-1]["reverse mode"] < rows[-1]["forward mode"]
    assert (tmp_path / "cost.png").stat().st_size > 10_000
    assert "plot written to" in capsys.readouterr().out


def test_examples_run_as_scripts():
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "circuit_add_mul.py")],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "f = q * z = -12" in done.stdout


def _teaching_section() -> str:
    text = (EXAMPLES.parent / "README.md").read_text()
    return text[text.index("<!-- section: teaching -->"):
                text.index("<!-- end section: teaching -->")]


def test_readme_teaching_section_runs_and_lists_every_example(capsys):
    section = _teaching_section()
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "README[teaching]", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "-12.0 -4.0 -4.0 3.0"
    assert float(lines[1]) == pytest.approx(math.sin(3) + 3 * math.cos(3))
    for script in EXAMPLES.glob("*.py"):
        assert f"`{script.name}`" in section, f"README does not list {script.name}"


def test_moons_micrograd_trains_an_mlp_of_values(capsys):
    result = load("moons_micrograd").main([])
    assert result["accuracy"] >= 0.85
    out = capsys.readouterr().out
    assert "step   0" in out and out.splitlines()[-1].startswith("final: loss")
    assert f"training accuracy {result['accuracy']:.0%}" in out
