from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Base


def entity_counts(session: Session) -> dict[str, int]:
    """Row count of every table: the `critiquelab stats` object."""
    return {
        name: session.scalar(select(func.count()).select_from(table)) or 0
        for name, table in sorted(Base.metadata.tables.items())
    }
