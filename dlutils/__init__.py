"""Shared helpers of the Neural Networks and Deep Learning course kit.

Modules: ``checks`` (test checks with helpful messages), ``gradcheck`` (numeric gradients),
``data`` (the cat/non-cat dataset), ``images`` (your own pictures), ``plots``.
"""

__version__ = "0.1.0"
