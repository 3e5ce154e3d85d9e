"""The ASGI application: middleware, routers, static files, error handlers."""

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from app import tasks  # noqa: F401  (registers the jobs and the model backend's probes)
from app.analysis import routes as analysis_routes
from app.assist import routes as assist_routes
from app.core.csrf import csrf_protect
from app.core.edge import install_edge
from app.core.error_pages import install_error_handlers
from app.core.headers import install_security
from app.core.settings import PROJECT_ROOT, get_settings
from app.corpus import routes as corpus_routes
from app.dashboard import routes as dashboard_routes
from app.experiments import routes as experiment_routes
from app.export import routes as export_routes
from app.integrity import routes as integrity_routes
from app.jobs import routes as job_routes
from app.jobs.backend import backend_state
from app.judgements import routes as judgement_routes
from app.labeling import pages as labeling_pages
from app.labeling import routes as labeling_routes
from app.review import routes as review_routes
from app.studies import join as study_join
from app.studies import routes as study_routes
from app.users import routes as user_routes
from app.users.deps import get_optional_user
from app.writing import routes as writing_routes


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        title="critiquelab",
        version="0.1.0",
        dependencies=[Depends(csrf_protect)],
        # /docs and /openapi.json come from install_security: admin only in production.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="critiquelab_session",
        max_age=settings.session_max_age_s,
        same_site="lax",
        https_only=settings.cookies_secure,
    )
    install_error_handlers(app)
    install_edge(app)  # body limits, hostile values: before the routers copy its dependency
    install_security(
        app, get_optional_user
    )  # headers on every response (outside the edge), API docs
    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "static"), name="static")
    # The labeling loop's API first: routers are matched one after the other (about 50 us
    # each here), and no other router's paths overlap /api/v1/tasks.
    app.include_router(labeling_routes.api)
    for module in (
        user_routes,
        corpus_routes,
        dashboard_routes,
        job_routes,
        assist_routes,
        experiment_routes,
        labeling_routes,
        labeling_pages,
        writing_routes,
        review_routes,
        analysis_routes,
        judgement_routes,
        integrity_routes,
        study_routes,
        study_join,
    ):
        app.include_router(module.router)
    for module in (
        user_routes,
        experiment_routes,
        export_routes,
        writing_routes,
        review_routes,
        analysis_routes,
        judgement_routes,
    ):
        app.include_router(module.api)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, object]:
        # Liveness of the app itself: 200 whenever it answers. The model backend's state is
        # information (probed with a short timeout); a down backend must not get the app
        # restarted by its supervisor.
        return {"status": "ok", "model_backend": await backend_state()}

    return app


app = create_app()
