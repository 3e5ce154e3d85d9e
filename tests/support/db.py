from sqlalchemy.orm import Session


def fresh(db: Session) -> Session:
    """See what other sessions committed: end this session's snapshot and forget loaded rows
    (the app's sessions keep objects across commits, so a plain rollback may leave them)."""
    db.rollback()
    db.expire_all()
    return db
