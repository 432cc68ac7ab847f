"""nbgrader's Submit on a shared machine, with the submission readable by the instructors only.

nbgrader's own submit (``nbgrader.exchange.default.submit``) leaves the copy in the exchange's
``inbound/`` world-readable (files 0644, the folder 0777) and relies on ``inbound/`` being
unlistable (0733) and on a random part in the folder's name. Anyone who learns that name (it
stands in the submission's own files, which may be handed around) can read the work and its
``submission_secret.txt``, the key to the student's feedback.

``inbound/`` is created by nbgrader's release with the set-group-ID bit, so the folder a
student's submit makes there belongs to the course's group (the instructors').
:class:`PrivateSubmit` runs nbgrader's submit unchanged, then sets that folder to 0770: the
student (owner) and the instructors (group) enter it, read it and may remove it; others cannot
even look inside. The
files keep nbgrader's modes (some of them, written after the copy, have the student's own
group: a student cannot give a file to a group they are not in, so the folder is the lock).
Where ``inbound/`` does not give its group (no set-group-ID bit, or the group is the student's
own), nothing is changed, so that the instructor can still collect.

The students' nbgrader configuration on the course JupyterHub selects it
(``c.ExchangeFactory.submit``, see ``hub/nbgrader_config.py``).
"""

from __future__ import annotations

import os
import stat

from nbgrader.exchange.default.submit import ExchangeSubmit

__all__ = ["PrivateSubmit", "restrict"]

MODE = 0o770


def restrict(folder: str) -> bool:
    """Close ``folder`` to others (0770) when it belongs to a group that is not the user's own
    (given by a set-group-ID ``inbound/``); return whether it did."""
    info = os.stat(folder)
    parent = os.stat(os.path.dirname(os.path.abspath(folder)))
    if not parent.st_mode & stat.S_ISGID or info.st_gid != parent.st_gid \
            or info.st_gid == os.getgid():
        return False
    os.chmod(folder, MODE)
    return True


class PrivateSubmit(ExchangeSubmit):
    """nbgrader's submit; then the copy in ``inbound/`` is closed to other students."""

    def copy_files(self):
        super().copy_files()
        dest = os.path.join(self.inbound_path, self.assignment_filename)
        if restrict(dest):
            self.log.info("Submission readable by you and the instructors only: %s", dest)
        else:
            self.log.warning("The exchange's inbound folder does not give its group to "
                             "submissions: %s keeps nbgrader's permissions", dest)
