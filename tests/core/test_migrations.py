"""The schema comes only from Alembic, and Alembic's schema is exactly the models'."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app.models import Base


def test_migrations_match_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        assert compare_metadata(ctx, Base.metadata) == []
    engine.dispose()


def test_constraints_are_named_and_hot_queries_indexed(database_url: str) -> None:
    engine = create_engine(database_url)
    insp = inspect(engine)
    checks = {c["name"] for c in insp.get_check_constraints("labeler_critiques")}
    assert {"ck_labeler_critiques_severity_range", "ck_labeler_critiques_category_valid"} <= checks
    indexes = {i["name"] for i in insp.get_indexes("tasks")}
    assert {
        "ix_tasks_experiment_id_status",
        "ix_tasks_labeler_id_status",
        "ix_tasks_experiment_id_condition_id_status",
    } <= indexes
    uniques = {u["name"] for u in insp.get_unique_constraints("passage_exposures")}
    assert "uq_passage_exposures_user_id_passage_id" in uniques
    engine.dispose()
