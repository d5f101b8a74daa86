from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from app.deps import NowDep, SessionDep
from app.errors import RateLimited, problem_response
from app.input import PATH_NAME_PATTERN
from app.openapi import problem_responses
from app.orderfile.deps import OrderFileReaderDep, ReadOnlyOrderFileReaderDep
from app.orderfile.rows import OrderFileReader
from app.public import service
from app.public.links import TrackLinks
from app.public.schemas import PublicStatus
from app.public.throttle import PublicThrottle
from app.public.wording import date_words
from carriers.numbers import normalize_tracking_number

router = APIRouter(tags=["public"])
templates = Jinja2Templates(directory=FilePath(__file__).parent / "templates")
templates.env.filters["date_words"] = date_words

NOT_FOUND_DETAIL = "No order matches that order number and postal code."
PRIVATE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
OrderNumberPath = Annotated[str, Path(min_length=1, max_length=64)]
# Empty or over-long input is simply "not found", never a JSON 422 on an HTML page.
PostalCodeText = Annotated[str, Form(max_length=64)]


async def get_throttle(request: Request) -> PublicThrottle:
    throttle: PublicThrottle = request.app.state.public_throttle
    return throttle


async def get_track_links(request: Request) -> TrackLinks:
    links: TrackLinks = request.app.state.track_links
    return links


ThrottleDep = Annotated[PublicThrottle, Depends(get_throttle)]
TrackLinksDep = Annotated[TrackLinks, Depends(get_track_links)]


def client_address(request: Request) -> str:
    # The peer, or behind a proxy named in FIRSTSCAN_FORWARDED_ALLOW_IPS the address it
    # forwarded (app/serving.py); never a header from anyone else.
    return request.client.host if request.client else "unknown"


@router.get(
    "/v1/public/status/{order_number}",
    response_model=PublicStatus,
    responses=problem_responses(404, 422, 429, s404="no order with that number and postal code"),
)
async def public_status(
    order_number: Annotated[str, Path(min_length=1, max_length=64, pattern=PATH_NAME_PATTERN)],
    postal_code: Annotated[str, Query(min_length=1, max_length=16)],
    request: Request,
    reader: ReadOnlyOrderFileReaderDep,
    now: NowDep,
    throttle: ThrottleDep,
) -> PublicStatus | JSONResponse:
    throttle.check(
        address=client_address(request), order_key=normalize_tracking_number(order_number)
    )
    status = await service.find_status(
        reader, order_number=order_number, postal_code=postal_code, now=now
    )
    if status is None:
        # The same body and headers for a wrong number and a wrong code (enumeration safety).
        return problem_response(
            status=404,
            slug="not-found",
            title="Not found",
            detail=NOT_FOUND_DETAIL,
            headers=PRIVATE,
        )
    return JSONResponse(status.model_dump(mode="json"), headers=PRIVATE)


def _page(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    headers = dict(PRIVATE)
    if "retry_after" in context:
        headers["Retry-After"] = str(context["retry_after"])
    return templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=headers
    )


def unavailable_page(request: Request) -> HTMLResponse:
    """What a customer sees while the database is away (app.database_outage adds Retry-After)."""
    return _page(request, "unavailable.html", {}, status_code=503)


@router.get("/track", response_class=HTMLResponse, include_in_schema=False)
async def track_form(request: Request) -> HTMLResponse:
    return _page(request, "track_form.html", {"order_number": None})


@router.get("/track/{order_number}", response_class=HTMLResponse, include_in_schema=False)
async def track_order_form(order_number: OrderNumberPath, request: Request) -> HTMLResponse:
    return _page(request, "track_form.html", {"order_number": order_number})


@router.post("/track", response_class=HTMLResponse, include_in_schema=False)
async def track_lookup(
    request: Request,
    reader: ReadOnlyOrderFileReaderDep,
    now: NowDep,
    throttle: ThrottleDep,
    order_number: Annotated[str, Form(max_length=64)] = "",
    postal_code: PostalCodeText = "",
) -> HTMLResponse:
    return await _lookup_page(request, reader, now, throttle, order_number, postal_code)


@router.post("/track/{order_number}", response_class=HTMLResponse, include_in_schema=False)
async def track_order_lookup(
    order_number: OrderNumberPath,
    request: Request,
    reader: ReadOnlyOrderFileReaderDep,
    now: NowDep,
    throttle: ThrottleDep,
    postal_code: PostalCodeText = "",
) -> HTMLResponse:
    return await _lookup_page(request, reader, now, throttle, order_number, postal_code)


async def _lookup_page(
    request: Request,
    reader: OrderFileReader,
    now: NowDep,
    throttle: PublicThrottle,
    order_number: str,
    postal_code: str,
) -> HTMLResponse:
    form = {"order_number": order_number.strip() or None}
    try:
        throttle.check(
            address=client_address(request), order_key=normalize_tracking_number(order_number)
        )
    except RateLimited as exc:
        retry = exc.headers["Retry-After"]
        return _page(request, "track_form.html", {**form, "retry_after": retry}, status_code=429)
    status = await service.find_status(
        reader, order_number=order_number, postal_code=postal_code, now=now
    )
    if status is None:
        return _page(request, "track_form.html", {**form, "not_found": True}, status_code=404)
    return _page(request, "track_status.html", {"status": status})


@router.get("/track/t/{token}", response_class=HTMLResponse, include_in_schema=False)
async def track_signed(
    token: Annotated[str, Path(max_length=300)],
    request: Request,
    session: SessionDep,
    reader: OrderFileReaderDep,
    now: NowDep,
    throttle: ThrottleDep,
    links: TrackLinksDep,
) -> Response:
    try:
        throttle.check(address=client_address(request), order_key=None)
    except RateLimited as exc:
        retry = exc.headers["Retry-After"]
        context = {"order_number": None, "retry_after": retry}
        return _page(request, "track_form.html", context, status_code=429)
    order_number = links.read(token)
    status = (
        await service.find_status_by_order_number(
            session, reader, order_number=order_number, now=now
        )
        if order_number
        else None
    )
    if status is None:
        invalid: dict[str, Any] = {"order_number": None, "link_invalid": True}
        return _page(request, "track_form.html", invalid, status_code=404)
    return _page(request, "track_status.html", {"status": status})
