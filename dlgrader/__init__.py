"""The instructor's grading tools of the course kit (students receive only ``dlutils``).

``cli`` (``python -m dlgrader``, behind ``./course``), ``grading`` (nbgrader's API for a course
folder), ``pipeline`` (safe, parallel, resumable grading), ``judge`` (test cells run there, out
of the student's reach), ``distributed`` (the same on a Dask cluster), ``sandbox`` (the
bubblewrap kernel), ``safeguards`` (nbgrader preprocessors), ``cheats`` (static tamper scan),
``collect`` (submissions from folders, LMS zips, git repositories), ``report``, ``studentkit``
(what students receive) and ``notebooks`` (housekeeping).

The kernel's half of grading, the only part of this package the sandboxed kernel can read:
``agent`` (answers the judge inside the student's kernel) and ``wire`` (the plain data that
crosses between them). This file imports nothing, so that the kernel can import them alone.
"""
