"""JupyterHub for one course server, The Littlest JupyterHub's way: the machine's Unix accounts
log in (PAM), each gets their own JupyterLab started as their own user (LocalProcessSpawner),
and nbgrader's exchange is a shared folder.

``./course hub-setup`` installs this file as ``etc/jupyterhub/jupyterhub_config.py`` of the hub's
Python environment (default ``/opt/nndl-hub``); run the hub as root from there:

    /opt/nndl-hub/bin/jupyterhub -f /opt/nndl-hub/etc/jupyterhub/jupyterhub_config.py

Settings come from environment variables (systemd: ``/etc/default/nndl-hub``), defaults first:

    NNDL_HUB_ENV=<this Python's prefix>     the environment every user's server runs in: the
                                            student's packages, dlutils and JupyterHub, never
                                            the grader or the solutions
    NNDL_HUB_STATE=/srv/nndl-hub            the hub's database, cookie secret (root only)
    NNDL_HUB_BIND_URL=http://:8000          where people connect (put HTTPS in front of it)
    NNDL_HUB_API_PORT=8081                  the hub's internal API, on 127.0.0.1
    NNDL_PROXY_API_PORT=8001                configurable-http-proxy's API, on 127.0.0.1
    NNDL_EXCHANGE=/srv/nbgrader/exchange    nbgrader's exchange (hub-setup makes it)
    NNDL_COURSE_ID=nndl                     the course id of the exchange
    NNDL_STUDENTS_GROUP=nndl-students       the Unix groups allowed to log in
    NNDL_INSTRUCTORS_GROUP=nndl-instructors
"""

import os
import sys

c = get_config()  # noqa: F821  (provided by JupyterHub when this file is loaded)

ENV = os.environ.get("NNDL_HUB_ENV", sys.prefix)
STATE = os.environ.get("NNDL_HUB_STATE", "/srv/nndl-hub")
EXCHANGE = os.environ.get("NNDL_EXCHANGE", "/srv/nbgrader/exchange")
COURSE_ID = os.environ.get("NNDL_COURSE_ID", "nndl")
STUDENTS = os.environ.get("NNDL_STUDENTS_GROUP", "nndl-students")
INSTRUCTORS = os.environ.get("NNDL_INSTRUCTORS_GROUP", "nndl-instructors")

os.makedirs(STATE, mode=0o700, exist_ok=True)

# --- where the hub listens; its database and secrets live in STATE (root only)
c.JupyterHub.bind_url = os.environ.get("NNDL_HUB_BIND_URL", "http://:8000")
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("NNDL_HUB_API_PORT", "8081"))
c.JupyterHub.db_url = f"sqlite:///{STATE}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = os.path.join(STATE, "jupyterhub_cookie_secret")
PROXY_API_PORT = os.environ.get("NNDL_PROXY_API_PORT", "8001")
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PROXY_API_PORT}"
c.ConfigurableHTTPProxy.pid_file = os.path.join(STATE, "jupyterhub-proxy.pid")
# configurable-http-proxy from npm, installed into the environment by ./course hub-setup
c.ConfigurableHTTPProxy.command = [os.path.join(ENV, "node", "node_modules", ".bin",
                                                "configurable-http-proxy")]

# --- who logs in: Unix accounts (PAM) of the course's two groups
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {STUDENTS, INSTRUCTORS}

# --- each user's JupyterLab, as that user, in their home folder, from the hub's environment
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [os.path.join(ENV, "bin", "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.environment = {
    "PATH": f"{ENV}/bin:/usr/local/bin:/usr/bin:/bin",
    # read by etc/jupyter/nbgrader_config.py of the environment (hub/nbgrader_config.py)
    "NNDL_EXCHANGE": EXCHANGE,
    "NNDL_COURSE_ID": COURSE_ID,
    # the course's dataset, installed into the environment by ./course hub-setup
    "DLUTILS_DATA_HOME": os.path.join(ENV, "share", "nndl", "datasets"),
}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
# A user's server stops with the hub (systemctl stop, Ctrl-C): nothing keeps running.
c.JupyterHub.cleanup_servers = True
