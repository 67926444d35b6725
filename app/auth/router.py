"""OAuth2 token endpoint (password and client-credentials grants), refresh-token rotation and
logout."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response, status
from fastapi.exceptions import RequestValidationError
from sqlmodel import Session

from app.auth import service, throttle
from app.auth.deps import CurrentPrincipal
from app.auth.schemas import RefreshRequest, TokenForm, TokenResponse
from app.clients import service as clients
from app.core.config import get_settings
from app.core.db import SessionDep
from app.core.errors import AppError, Unprocessable, field_errors, validation_detail
from app.core.http import problems
from app.core.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/auth", tags=["auth"])

# RFC 6749 section 5.2's code for a refusal that does not name one itself.
_OAUTH_ERRORS = {401: "invalid_client", 429: "temporarily_unavailable"}


class OAuthErrorRoute(OneHopRoute):
    """The token endpoint's refusals are problem documents in the RFC 6749 section 5.2 shape
    too: `error`, one of that section's codes, and `error_description`, the reason, which
    OAuth2 clients (Swagger UI's Authorize dialog) show the person logging in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = field_errors(exc)
                raise Unprocessable(
                    validation_detail(errors), errors=errors, error="invalid_request"
                ) from exc
            except AppError as exc:
                exc.extra.setdefault("error", _OAUTH_ERRORS.get(exc.status, "invalid_request"))
                raise

        return answer


token_router = APIRouter(route_class=OAuthErrorRoute)


def _noted(statuses: tuple[int, ...], notes: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """problem+json responses, with descriptions fitted to this endpoint."""
    responses = problems(*statuses)
    for status_code, note in notes.items():
        responses[status_code] = {**responses[status_code], "description": note}
    return responses


# RFC 6749 section 5.1: token responses must not be cached.
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _client_address(request: Request) -> str:
    # Behind a proxy, uvicorn puts the client from X-Forwarded-For here, but only when the
    # proxy's address is in FORWARDED_ALLOW_IPS (empty where this project starts uvicorn).
    return request.client.host if request.client else "unknown"


def _password_grant(session: Session, form: TokenForm, request: Request) -> service.IssuedTokens:
    if not form.username or form.password is None:
        raise Unprocessable("grant_type=password needs username and password")
    return service.password_login(
        session,
        get_settings(),
        username=form.username,
        password=form.password,
        scope=form.scope,
        address=_client_address(request),
    )


def _client_credentials_grant(
    session: Session, form: TokenForm, request: Request
) -> service.IssuedTokens:
    client_id, secret = clients.presented_credentials(
        form.client_id, form.client_secret, request.headers.get("Authorization")
    )
    return clients.client_credentials_login(
        session,
        get_settings(),
        client_id=client_id,
        secret=secret,
        scope=form.scope,
        address=_client_address(request),
    )


# One handler per grant type.
_GRANTS: dict[str, Callable[[Session, TokenForm, Request], service.IssuedTokens]] = {
    "password": _password_grant,
    "client_credentials": _client_credentials_grant,
}


def _token_response(response: Response, issued: service.IssuedTokens) -> TokenResponse:
    response.headers.update(_NO_STORE)
    return TokenResponse(
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_in=issued.expires_in,
        scope=issued.scope,
    )


@token_router.post(
    "/token",
    operation_id="auth_token",
    summary="Log in: exchange credentials for an access and a refresh token",
    description=(
        "OAuth2 token endpoint (form encoded). `grant_type=password` with `username` and "
        "`password`; `scope` optionally narrows the role's scopes. "
        "`grant_type=client_credentials` for service clients (city systems): `client_id` and "
        "`client_secret` in the body or as HTTP Basic credentials (RFC 6749 section 2.3.1), "
        "not both; the answer has no refresh token, and `scope` may only narrow the client's "
        "scopes (400 `invalid-scope` beyond them). Logins are throttled: after "
        f"{throttle.PAIR_FREE_ATTEMPTS} attempts for an account from one address, "
        f"{throttle.ACCOUNT_FREE_ATTEMPTS} for an account from new addresses or "
        f"{throttle.ADDRESS_FREE_ATTEMPTS} from one address for accounts new to it, each "
        f"further attempt waits a delay starting at {int(throttle.FIRST_DELAY.total_seconds())} "
        "s and doubling (429 with Retry-After). An address an account has logged in from "
        "counts only its own attempts."
    ),
    response_model=TokenResponse,
    response_model_exclude_none=True,
    responses=_noted(
        (400, 401, 422, 429),
        {
            400: "Unsupported grant type, unknown scope or a scope beyond the client's, or "
            "client credentials sent two ways (`invalid-request`)",
            401: "Unknown user, wrong password or inactive account; or unknown client, wrong "
            "secret or disabled client (`invalid-client`). One answer for all",
            429: "Too many failed logins; see Retry-After",
        },
    ),
)
def token(
    request: Request,
    response: Response,
    session: SessionDep,
    form: Annotated[TokenForm, Form()],
) -> TokenResponse:
    grant = _GRANTS.get(form.grant_type)
    if grant is None:
        raise service.UnsupportedGrantType(
            f"grant_type {form.grant_type!r} is not supported; use one of: "
            + ", ".join(sorted(_GRANTS)),
            error="unsupported_grant_type",
        )
    return _token_response(response, grant(session, form, request))


router.include_router(token_router)


@router.post(
    "/refresh",
    operation_id="auth_refresh",
    summary="Rotate a refresh token for a new token pair",
    description=(
        "Each refresh token works once. Presenting a spent or revoked one revokes every "
        "refresh token of that login."
    ),
    response_model=TokenResponse,
    responses=_noted((401, 422), {401: "Unknown, expired, spent or revoked refresh token"}),
)
def refresh(body: RefreshRequest, response: Response, session: SessionDep) -> TokenResponse:
    issued = service.rotate_refresh_token(session, get_settings(), body.refresh_token)
    return _token_response(response, issued)


@router.post(
    "/logout",
    operation_id="auth_logout",
    summary="Log out everywhere: revoke this token and every token of the account",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401),
)
def logout(principal: CurrentPrincipal, session: SessionDep) -> None:
    service.logout(session, get_settings(), principal.id, principal.jti)
