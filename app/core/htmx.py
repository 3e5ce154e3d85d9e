from fastapi import Request
from fastapi.responses import Response


def redirect(request: Request, url: str) -> Response:
    """HX-Redirect for htmx requests (a 303 would be followed inside the swap), 303 otherwise."""
    if request.headers.get("HX-Request"):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return Response(status_code=303, headers={"Location": url})
