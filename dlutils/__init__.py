"""What the course's notebooks import (students receive this package, nothing of the grader).

``checks`` (test checks with helpful messages; ``differences`` says in words what is wrong,
``failure_display`` shows a failed check's message first in IPython), ``gradcheck`` (numeric
gradients), ``data`` (the cat/non-cat dataset), ``images`` (your own pictures), ``plots``,
``planar`` (A3's datasets and decision boundaries), ``activations`` (A4's provided helpers),
``initialization_data``, ``regularization_data`` and ``moons`` (the data of A6, A7 and A9),
``runtime`` (full runs in JupyterLab, short silent ones under grading), ``companion``
(self-checking exercises of the lecture companions in ``notebooks/``), ``notebook_check`` (a
notebook's public tests, behind ``./course check``; ``validate_server`` gives JupyterLab's
Validate button the same report) and ``workspace`` (the student's copies of
the assignments).
"""

__version__ = "0.1.0"
