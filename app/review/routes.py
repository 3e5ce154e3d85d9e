"""The review page and API for the reviewer; the admin's list of reviews and hand-over."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.core.deps import SessionDep
from app.core.errors import AppError, form_error
from app.core.htmx import redirect
from app.core.templating import field_status, templates
from app.review import blinding, service, view
from app.review.schemas import (
    BlindCritiqueVerdict,
    BlindLabelerVerdict,
    BlindReviewIn,
    BlindReviewOut,
    DelegatedOut,
    DelegateIn,
    DraftSavedOut,
    ReviewStatusOut,
)
from app.users.deps import AdminUser, CurrentUser

router = APIRouter()
api = APIRouter(prefix="/api/v1/reviews", tags=["reviews"])


async def form_items(request: Request) -> list[tuple[str, str]]:
    """The raw form: the review's field names carry task and critique ids."""
    return [(k, str(v)) for k, v in (await request.form()).multi_items()]


FormItems = Annotated[list[tuple[str, str]], Depends(form_items)]


def review_from_form(items: list[tuple[str, str]]) -> BlindReviewIn:
    """labeler=K per labeler (K its pseudonym key, e.g. "A"); cover-K = an intended critique
    id or "none"; valid-C and novel-C = yes|no per critique (C e.g. "A1")."""
    labelers: dict[str, BlindLabelerVerdict] = {}
    critiques: dict[str, BlindCritiqueVerdict] = {}
    try:
        for key, value in items:
            name, _, ident = key.partition("-")
            if key == "labeler":
                labelers.setdefault(value, BlindLabelerVerdict(labeler=value))
            elif name == "cover":
                verdict = labelers.setdefault(ident, BlindLabelerVerdict(labeler=ident))
                if value == "none":
                    verdict.none = True
                else:
                    verdict.covers.append(int(value))
            elif name in ("valid", "novel"):
                verdict_c = critiques.setdefault(ident, BlindCritiqueVerdict(critique=ident))
                setattr(verdict_c, name, value == "yes")
    except ValueError as exc:
        raise AppError(f"malformed review form field: {exc}") from exc
    return BlindReviewIn(labelers=list(labelers.values()), critiques=list(critiques.values()))


def _page(
    request: Request,
    db: SessionDep,
    user_id: int,
    review_id: int,
    block: str | None = None,
    error: str | None = None,
) -> Response:
    return templates.TemplateResponse(
        request,
        "review/review.html",
        {"review": blinding.reviewer_view(db, user_id, review_id), "error": error},
        block_name=block,
    )


@router.get("/reviews/{review_id}")
def review_page(request: Request, db: SessionDep, user: CurrentUser, review_id: int) -> Response:
    return _page(request, db, user.id, review_id)


@router.post("/reviews/{review_id}/draft")
def draft_page(
    request: Request, db: SessionDep, user: CurrentUser, review_id: int, items: FormItems
) -> Response:
    body = blinding.unblind(db, user.id, review_id, review_from_form(items))
    service.save_draft(db, user.id, review_id, body)
    return field_status(request)


@router.post("/reviews/{review_id}/submit")
def submit_page(
    request: Request, db: SessionDep, user: CurrentUser, review_id: int, items: FormItems
) -> Response:
    body = blinding.unblind(db, user.id, review_id, review_from_form(items))
    service.save_draft(db, user.id, review_id, body)
    if error := form_error(lambda: service.submit(db, user.id, review_id, body)):
        return _page(request, db, user.id, review_id, block="submit_box", error=error)
    return redirect(request, "/labeler?note=Review submitted. Thank you!")


@api.get("/{review_id}")
def get_api(db: SessionDep, user: CurrentUser, review_id: int) -> BlindReviewOut:
    return blinding.reviewer_view(db, user.id, review_id)


@api.put("/{review_id}/draft")
def draft_api(
    body: BlindReviewIn, db: SessionDep, user: CurrentUser, review_id: int
) -> DraftSavedOut:
    service.save_draft(db, user.id, review_id, blinding.unblind(db, user.id, review_id, body))
    return DraftSavedOut(review_id=review_id, saved=True)


@api.post("/{review_id}/submit")
def submit_api(
    db: SessionDep, user: CurrentUser, review_id: int, body: BlindReviewIn | None = None
) -> ReviewStatusOut:
    internal = blinding.unblind(db, user.id, review_id, body) if body is not None else None
    review = service.submit(db, user.id, review_id, internal)
    return ReviewStatusOut(review_id=review.id, status=review.status)


@api.post("/{review_id}/delegate")
def delegate_api(
    body: DelegateIn, db: SessionDep, admin: AdminUser, review_id: int
) -> DelegatedOut:
    service.delegate(db, review_id, body.reviewer, body.author_permission)
    return DelegatedOut(review_id=review_id, reviewer=body.reviewer)


@router.get("/admin/reviews")
def admin_page(
    request: Request,
    db: SessionDep,
    admin: AdminUser,
    experiment: int | None = None,
    note: str | None = None,
) -> Response:
    return templates.TemplateResponse(
        request,
        "review/admin.html",
        {"rows": view.listing(db, experiment), "experiment": experiment, "note": note},
    )


@router.post("/admin/reviews/{review_id}/delegate")
def delegate_page(
    request: Request,
    db: SessionDep,
    admin: AdminUser,
    review_id: int,
    reviewer: Annotated[str, Form()] = "",
    author_permission: Annotated[str, Form()] = "",
) -> Response:
    service.delegate(db, review_id, reviewer, author_permission)
    return redirect(request, f"/admin/reviews?note=Review {review_id} handed to {reviewer}.")
