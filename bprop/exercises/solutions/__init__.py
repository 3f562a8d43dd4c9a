"""Reference solutions of the exercises, one file per exercise.

Each file is what a student receives from ``bprop exercises make``, with the
code between ``# BEGIN SOLUTION: <hint>`` and ``# END SOLUTION`` filled in.
The student version replaces each such block with
``raise NotImplementedError("<hint>")``. Graded by `bprop.exercises.checks`.
"""
