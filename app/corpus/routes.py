"""Admin pages for the corpus: browse what is stored, upload an import and watch a worker
run it."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from app.core.deps import SessionDep
from app.core.errors import AppError
from app.core.templating import templates
from app.corpus import service
from app.corpus.parsing import ImportFormat
from app.corpus.repository import CorpusRepository
from app.corpus.stats import entity_counts
from app.users.deps import AdminUser

router = APIRouter(prefix="/admin")


@router.get("/data")
def data_page(request: Request, db: SessionDep, admin: AdminUser, page: int = 1) -> Response:
    repo = CorpusRepository(db)
    per_page = 20
    passages = repo.list_passages(limit=per_page, offset=(max(page, 1) - 1) * per_page)
    return templates.TemplateResponse(
        request,
        "corpus/data.html",
        {
            "passages": passages,
            "counts": entity_counts(db),
            "page": page,
            "pages": -(-repo.count_passages() // per_page),
        },
    )


@router.get("/import")
def import_page(request: Request, db: SessionDep, admin: AdminUser) -> Response:
    return templates.TemplateResponse(
        request, "corpus/import.html", {"runs": service.recent_runs(db)}
    )


@router.post("/import")
def upload(
    request: Request,
    db: SessionDep,
    admin: AdminUser,
    file: Annotated[UploadFile, File()],
    format: Annotated[ImportFormat, Form()],
) -> Response:
    """Queue the upload for a worker; the fragment polls the run until it ends."""
    if not file.filename:
        raise AppError("choose a file to import", field="file")
    content = file.file.read()  # the edge caps an upload at max_upload_bytes
    if not content:
        raise AppError(f"{file.filename} is empty", field="file")
    run = service.queue_run(db, Path(file.filename).name, format, admin.id, content)
    return templates.TemplateResponse(request, "corpus/_import_run.html", {"run": run})


@router.get("/import/{run_id}")
def run_status(request: Request, db: SessionDep, admin: AdminUser, run_id: int) -> Response:
    run = service.get_run(db, run_id)
    return templates.TemplateResponse(request, "corpus/_import_run.html", {"run": run})
