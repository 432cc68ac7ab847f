"""nbgrader configuration of the Neural Networks and Deep Learning course kit.

The course directory is this repository: source/ (instructor notebooks), release/ (student
versions, committed), submitted/, autograded/, feedback/ (instructor's, never committed).
"""

import os

c = get_config()  # noqa: F821  (provided by nbgrader/traitlets when this file is loaded)

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "nndl"
c.CourseDirectory.root = HERE
# The gradebook holds every solution and hidden test: it lives outside git (see .gitignore).
# Set NNDL_DB_URL (for example postgresql://...) to use another database.
c.CourseDirectory.db_url = os.environ.get("NNDL_DB_URL", f"sqlite:///{HERE}/gradebook.db")

# Assignments in course order; folder names sort in that order.
ASSIGNMENTS = [
    ("01_numpy_basics", "Python basics with NumPy"),
    ("02_logistic_regression", "Logistic regression with a neural-network mindset"),
    ("03_planar_classification", "Planar data classification with one hidden layer"),
    ("04_deep_nn_step_by_step", "Building a deep neural network, step by step"),
    ("05_deep_nn_application", "Deep neural network application"),
    ("06_initialization", "Initialization"),
    ("07_regularization", "Regularization"),
    ("08_gradient_checking", "Gradient checking"),
    ("09_optimization_methods", "Optimization methods"),
]

# What a student sees in place of a solution.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\n"
              "raise NotImplementedError(\"Replace this line with your solution.\")",
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Execution limits: a cell may take a minute, a notebook's kernel must start in a minute.
c.Execute.timeout = 60
c.Execute.startup_timeout = 60
c.Execute.interrupt_on_timeout = True

# One grading path: ./course grade (dlgrader.pipeline) runs the student's cells sandboxed and the
# tests in the trusted judge, and writes feedback without hidden tests. nbgrader's own autograde
# and feedback (the formgrader's Autograde and Generate Feedback buttons, `nbgrader autograde`)
# would run the tests in the student's kernel, so they stop with a pointer to that command. The
# pipeline sets these preprocessors itself; Release Feedback (a copy of feedback/) still works.
_REFUSE = ["dlgrader.safeguards.GradeWithTheKit"]
c.Autograde.sanitize_preprocessors = _REFUSE
c.Autograde.autograde_preprocessors = _REFUSE
c.GenerateFeedback.preprocessors = _REFUSE

# Release files other than notebooks (A5's helper module) travel with the assignment.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# nbgrader's exchange (JupyterLab's assignment list) lives in the course folder, not in
# /usr/local/share, so that no root-owned system folder is needed.
c.Exchange.root = os.path.join(HERE, "exchange")
os.makedirs(c.Exchange.root, exist_ok=True)

# Late work (dlgrader.late, README "Late work"): due dates go into the gradebook (the formgrader
# shows them), extensions through nbgrader's grant_extension, and the penalty into nbgrader's
# late_submission_penalty (formgrader, `nbgrader export` and `./course export` agree). Times
# without an offset are in c.LatePolicy.timezone. `./course grade` checks these settings first.
# c.LatePolicy.timezone = "Europe/Berlin"
# c.LatePolicy.due = {
#     "01_numpy_basics": "2026-10-05 23:59",
#     "02_logistic_regression": "2026-10-19 23:59",
# }
# c.LatePolicy.method = "per_day"   # "none" (record only), "zero", or "per_day"
# c.LatePolicy.per_day = 10         # % of the points possible per started day late
# c.LatePolicy.max_deduction = 50   # at most this % in all
# c.LatePolicy.cutoff_days = 7      # more than 7 days late: score 0
# c.LatePolicy.grace_minutes = 15   # up to 15 minutes late counts as on time
# c.LatePolicy.extensions = {
#     "ann": {"01_numpy_basics": "2026-10-08 23:59"},   # a new due date for ann
#     "bob": {"02_logistic_regression": 2},             # or a number of days added
# }
