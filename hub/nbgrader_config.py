"""nbgrader's configuration for everyone's server on the course JupyterHub.

``./course hub-setup`` installs it as ``etc/jupyter/nbgrader_config.py`` of the hub's Python
environment, where every single-user server (and ``nbgrader`` in a terminal) reads it. The
hub passes the exchange folder and the course id (hub/jupyterhub_config.py); the defaults are
nbgrader's documented exchange and the course's id.
"""

import os

c = get_config()  # noqa: F821  (provided by nbgrader/traitlets when this file is loaded)

# The course of the Assignment List (JupyterLab's Nbgrader > Assignment List) and its exchange.
c.CourseDirectory.course_id = os.environ.get("NNDL_COURSE_ID", "nndl")
c.Exchange.root = os.environ.get("NNDL_EXCHANGE", "/srv/nbgrader/exchange")
# Fetch puts an assignment in <home>/<assignment>/, the layout ./course lab's workspace/ uses.
c.Exchange.path_includes_course = False
# Submit as nbgrader does, then close the submission to other students (dlutils/hub_submit.py).
c.ExchangeFactory.submit = "dlutils.hub_submit.PrivateSubmit"
