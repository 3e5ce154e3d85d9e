"""Who may call each route: the one table the role matrix (test_role_matrix.py) checks.

Reviewed by a human: a new route fails the matrix until it is declared here. Roles are
"anonymous", "labeler", "researcher", "admin". A labeler route is called as the labeler who
owns the object in its path (the matrix's fixtures); other labelers are refused by the
object checks (test_object_access in test_role_matrix.py). Outside production the API docs
are open; in production they are admin only (tests/security/test_api_docs_and_demo.py).
"""

ANONYMOUS, LABELER, RESEARCHER, ADMIN = "anonymous", "labeler", "researcher", "admin"
EVERYONE = frozenset({ANONYMOUS, LABELER, RESEARCHER, ADMIN})
ADMIN_ONLY = frozenset({ADMIN})
LABELER_ONLY = frozenset({LABELER})  # the owner of the task, writing task or review
READERS = frozenset({RESEARCHER, ADMIN})  # results: researchers read, admins too

# POSTs a researcher may make although researchers change nothing: they change no research
# data, only ask a worker to refresh a derived, cached result (a POST for the CSRF check).
RECOMPUTES = frozenset({("POST", "/research/experiments/{exp_id}/report/compute")})

ROUTE_ROLES: dict[tuple[str, str], frozenset[str]] = {
    # Public
    ("GET", "/health"): EVERYONE,
    ("GET", "/openapi.json"): EVERYONE,
    ("GET", "/docs"): EVERYONE,
    ("GET", "/login"): EVERYONE,
    ("POST", "/login"): EVERYONE,
    ("POST", "/logout"): EVERYONE,
    ("GET", "/"): EVERYONE,
    # Admin: users, data, jobs, experiments, writing and review assignment
    ("GET", "/admin"): ADMIN_ONLY,
    ("GET", "/admin/users"): ADMIN_ONLY,
    ("POST", "/admin/users"): ADMIN_ONLY,
    ("POST", "/admin/users/{user_id}/active"): ADMIN_ONLY,
    ("POST", "/admin/users/{user_id}/password"): ADMIN_ONLY,
    ("POST", "/admin/tokens/{token_id}/revoke"): ADMIN_ONLY,
    ("POST", "/admin/login-locks/clear"): ADMIN_ONLY,
    ("GET", "/admin/data"): ADMIN_ONLY,
    ("GET", "/admin/import"): ADMIN_ONLY,
    ("POST", "/admin/import"): ADMIN_ONLY,
    ("GET", "/admin/import/{run_id}"): ADMIN_ONLY,
    ("GET", "/admin/jobs"): ADMIN_ONLY,
    ("GET", "/admin/jobs/status"): ADMIN_ONLY,
    ("POST", "/admin/jobs/generate"): ADMIN_ONLY,
    ("POST", "/admin/jobs/{job_id}/retry"): ADMIN_ONLY,
    ("GET", "/admin/experiments/new"): ADMIN_ONLY,
    ("GET", "/admin/experiments/new/passages"): ADMIN_ONLY,
    ("POST", "/admin/experiments/new/labelers"): ADMIN_ONLY,
    ("POST", "/admin/experiments/check"): ADMIN_ONLY,
    ("POST", "/admin/experiments"): ADMIN_ONLY,
    ("GET", "/admin/experiments/{exp_id}"): ADMIN_ONLY,
    ("GET", "/admin/experiments/{exp_id}/progress"): ADMIN_ONLY,
    ("POST", "/admin/experiments/{exp_id}/launch"): ADMIN_ONLY,
    ("POST", "/admin/experiments/{exp_id}/pause"): ADMIN_ONLY,
    ("POST", "/admin/experiments/{exp_id}/resume"): ADMIN_ONLY,
    ("POST", "/admin/tasks/{task_id}/reassign"): ADMIN_ONLY,
    ("GET", "/admin/writing"): ADMIN_ONLY,
    ("POST", "/admin/writing"): ADMIN_ONLY,
    ("GET", "/admin/reviews"): ADMIN_ONLY,
    ("POST", "/admin/reviews/{review_id}/delegate"): ADMIN_ONLY,
    ("GET", "/admin/experiments/{exp_id}/integrity"): ADMIN_ONLY,
    ("POST", "/admin/experiments/{exp_id}/integrity/exclusions"): ADMIN_ONLY,
    ("POST", "/admin/integrity/exclusions/{exclusion_id}/lift"): ADMIN_ONLY,
    ("GET", "/api/v1/users"): ADMIN_ONLY,
    ("POST", "/api/v1/users"): ADMIN_ONLY,
    ("POST", "/api/v1/experiments"): ADMIN_ONLY,
    ("PUT", "/api/v1/experiments/{exp_id}"): ADMIN_ONLY,
    ("POST", "/api/v1/experiments/{exp_id}/launch"): ADMIN_ONLY,
    ("POST", "/api/v1/writing"): ADMIN_ONLY,
    ("POST", "/api/v1/reviews/{review_id}/delegate"): ADMIN_ONLY,
    # Results: researchers and admins read; nobody changes anything here
    ("GET", "/research"): READERS,
    ("GET", "/research/experiments/{exp_id}/report"): READERS,
    ("GET", "/research/experiments/{exp_id}/report/progress"): READERS,
    ("GET", "/research/experiments/{exp_id}/report/report.json"): READERS,
    ("GET", "/research/experiments/{exp_id}/report/figures/{filename}"): READERS,
    ("POST", "/research/experiments/{exp_id}/report/compute"): READERS,  # see RECOMPUTES
    ("GET", "/api/v1/experiments/{exp_id}/export"): READERS,
    ("GET", "/api/v1/experiments/{exp_id}/analysis"): READERS,
    # Labeling: the labeler who holds the task
    ("GET", "/labeler"): LABELER_ONLY,
    ("GET", "/labeler/end"): LABELER_ONLY,
    ("POST", "/labeler/next"): LABELER_ONLY,
    ("GET", "/tasks/{task_id}"): LABELER_ONLY,
    ("POST", "/tasks/{task_id}/skip"): LABELER_ONLY,
    ("POST", "/tasks/{task_id}/critiques"): LABELER_ONLY,
    ("PUT", "/tasks/{task_id}/critiques/{critique_id}"): LABELER_ONLY,
    ("DELETE", "/tasks/{task_id}/critiques/{critique_id}"): LABELER_ONLY,
    ("PUT", "/tasks/{task_id}/rating"): LABELER_ONLY,
    ("POST", "/tasks/{task_id}/passage"): LABELER_ONLY,
    ("POST", "/tasks/{task_id}/activity"): LABELER_ONLY,
    ("POST", "/tasks/{task_id}/submit"): LABELER_ONLY,
    ("POST", "/api/v1/tasks/next"): LABELER_ONLY,
    ("GET", "/api/v1/tasks/{task_id}"): LABELER_ONLY,
    ("POST", "/api/v1/tasks/{task_id}/skip"): LABELER_ONLY,
    ("POST", "/api/v1/tasks/{task_id}/critiques"): LABELER_ONLY,
    ("PUT", "/api/v1/tasks/{task_id}/critiques/{critique_id}"): LABELER_ONLY,
    ("DELETE", "/api/v1/tasks/{task_id}/critiques/{critique_id}"): LABELER_ONLY,
    ("PUT", "/api/v1/tasks/{task_id}/rating"): LABELER_ONLY,
    ("POST", "/api/v1/tasks/{task_id}/submit"): LABELER_ONLY,
    # Answer writing: the labeler who was asked to write
    ("GET", "/writing/{task_id}"): LABELER_ONLY,
    ("POST", "/writing/{task_id}/draft"): LABELER_ONLY,
    ("POST", "/writing/{task_id}/submit"): LABELER_ONLY,
    ("GET", "/api/v1/writing/{task_id}"): LABELER_ONLY,
    ("PUT", "/api/v1/writing/{task_id}/draft"): LABELER_ONLY,
    ("POST", "/api/v1/writing/{task_id}/submit"): LABELER_ONLY,
    # Intended-critique review: its reviewer (the answer's author, or whom it was delegated to)
    ("GET", "/reviews/{review_id}"): LABELER_ONLY,
    ("POST", "/reviews/{review_id}/draft"): LABELER_ONLY,
    ("POST", "/reviews/{review_id}/submit"): LABELER_ONLY,
    ("GET", "/api/v1/reviews/{review_id}"): LABELER_ONLY,
    ("PUT", "/api/v1/reviews/{review_id}/draft"): LABELER_ONLY,
    ("POST", "/api/v1/reviews/{review_id}/submit"): LABELER_ONLY,
    # Helpfulness judgements (app/judgements, new this session: declared from the route code,
    # still to be reviewed by its author). Batches are the admin's; the export is a result.
    ("GET", "/admin/judgements"): ADMIN_ONLY,
    ("POST", "/admin/judgements"): ADMIN_ONLY,
    ("POST", "/api/v1/judgements/batches"): ADMIN_ONLY,
    ("GET", "/api/v1/judgements/batches"): ADMIN_ONLY,
    ("GET", "/api/v1/judgements/batches/{batch_id}"): ADMIN_ONLY,
    ("GET", "/api/v1/judgements/export"): READERS,
    ("GET", "/api/v1/judgements"): LABELER_ONLY,
    ("GET", "/judgements/{judgement_id}"): LABELER_ONLY,
    ("POST", "/judgements/{judgement_id}/draft"): LABELER_ONLY,
    ("POST", "/judgements/{judgement_id}/submit"): LABELER_ONLY,
    ("GET", "/api/v1/judgements/{judgement_id}"): LABELER_ONLY,
    ("PUT", "/api/v1/judgements/{judgement_id}/draft"): LABELER_ONLY,
    ("POST", "/api/v1/judgements/{judgement_id}/submit"): LABELER_ONLY,
    # Studies with recruited participants (app/studies). A study link is public: its
    # signature and expiry are checked, and joining makes the visitor a labeler who owns
    # their place in the study. The setup and quality pages are the admin's.
    ("GET", "/join/{study_id}"): EVERYONE,
    ("POST", "/join/{study_id}"): EVERYONE,
    ("GET", "/study/{study_id}"): LABELER_ONLY,
    ("POST", "/study/{study_id}/check"): LABELER_ONLY,
    ("GET", "/admin/experiments/{exp_id}/study"): ADMIN_ONLY,
    ("POST", "/admin/experiments/{exp_id}/briefing"): ADMIN_ONLY,
    ("POST", "/admin/experiments/{exp_id}/comprehension"): ADMIN_ONLY,
    ("POST", "/admin/experiments/{exp_id}/comprehension/{question_id}/delete"): ADMIN_ONLY,
    ("POST", "/admin/experiments/{exp_id}/checks"): ADMIN_ONLY,
    ("POST", "/admin/experiments/{exp_id}/checks/{answer_id}/delete"): ADMIN_ONLY,
    ("POST", "/admin/experiments/{exp_id}/studies"): ADMIN_ONLY,
    ("GET", "/admin/experiments/{exp_id}/quality"): ADMIN_ONLY,
}
