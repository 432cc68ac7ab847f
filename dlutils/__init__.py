"""Shared helpers of the Neural Networks and Deep Learning course kit.

For notebooks: ``checks`` (test checks with helpful messages), ``gradcheck`` (numeric
gradients), ``data`` (the cat/non-cat dataset), ``images`` (your own pictures), ``plots``,
``planar`` (A3's datasets and decision boundaries), ``activations`` (A4's provided helpers),
``runtime`` (full runs in JupyterLab, short silent ones under grading), ``companion``
(self-checking exercises of the lecture companions in ``notebooks/``).

For instructors: ``grading`` (nbgrader's API for a course folder), ``pipeline`` (safe,
parallel, resumable grading), ``judge`` (test cells run there, out of the student's reach),
``distributed`` (the same on a Dask cluster), ``sandbox`` (the
bubblewrap kernel), ``safeguards`` (nbgrader preprocessors), ``cheats`` (static tamper scan),
``collect``, ``report``, ``cli`` (``python -m dlutils``), ``notebooks`` and ``workspace``
(housekeeping). Both sides of grading: ``agent`` (answers the judge inside the student's
kernel) and ``wire`` (the plain data that crosses between them).
"""

__version__ = "0.1.0"
