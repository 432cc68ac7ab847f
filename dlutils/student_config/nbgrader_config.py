# nbgrader's configuration for the student's JupyterLab (on JUPYTER_CONFIG_PATH when
# ./course lab runs): nothing to set. Validate is answered by dlutils.validate_server; on a
# course JupyterHub, the hub's own nbgrader_config.py names the course and the exchange.
# (Its presence keeps nbgrader from warning that it found no configuration file.)
