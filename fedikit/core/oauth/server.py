"""The OAuth 2 authorization server (Authlib), with Mastodon's grants and responses.

Grants: authorization_code (with PKCE S256, and the out-of-band redirect
``urn:ietf:wg:oauth:2.0:oob``), password, client_credentials, refresh_token.
Tokens do not expire (as Mastodon's); each comes with a refresh token.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Payload, FlaskOAuth2Request
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask
from flask import request as flask_request
from sqlalchemy import select
from werkzeug.datastructures import CombinedMultiDict, MultiDict

from fedikit.core.db import db, utcnow
from fedikit.core.models import AccessToken, Application, AuthorizationCode, User
from fedikit.core.oauth import scopes, tokens
from fedikit.core.services.accounts import sign_in_refusal
from fedikit.core.state import current

OOB = "urn:ietf:wg:oauth:2.0:oob"
CODE_LIFETIME = dt.timedelta(minutes=10)
GRANT_TYPES = ("authorization_code", "password", "client_credentials", "refresh_token")


class Client:
    """An application, as Authlib asks about it."""

    def __init__(self, application: Application) -> None:
        self.application = application

    @property
    def id(self) -> int:
        return self.application.id

    def get_client_id(self) -> str:
        return self.application.client_id

    def redirect_uris(self) -> list[str]:
        return [uri for uri in self.application.redirect_uris.split() if uri]

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris()[0]

    def get_allowed_scope(self, scope: str) -> str:
        requested = scopes.parse(scope) or ["read"]
        allowed = scopes.parse(self.application.scopes)
        return " ".join(s for s in requested if scopes.granted(allowed, s))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris()

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.application.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post", "none") if endpoint == "token" else True

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


class Token:
    """A stored token, as Authlib's revocation and refresh grants ask about it."""

    def __init__(self, row: AccessToken) -> None:
        self.row = row

    def check_client(self, client: Client) -> bool:
        return self.row.application_id == client.id

    def get_scope(self) -> str:
        return self.row.scopes

    def get_expires_in(self) -> int:
        return 0

    def is_expired(self) -> bool:
        return False

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None

    def get_user(self) -> User | None:
        return db.session.get(User, self.row.user_id) if self.row.user_id else None


def _query_client(client_id: str) -> Client | None:
    application = db.session.scalar(select(Application).where(Application.client_id == str(client_id)))
    return Client(application) if application else None


def _save_token(token: dict[str, Any], request: Any) -> None:
    row = tokens.store(
        request.client.application,
        request.user,
        scopes.parse(token.get("scope")),
        token["access_token"],
        token.get("refresh_token"),
    )
    if request.user is not None:  # a login through an app counts as signing in
        request.user.last_sign_in_at, request.user.current_sign_in_at = request.user.current_sign_in_at, utcnow()
    db.session.commit()
    token["created_at"] = int(row.created_at.timestamp())  # Mastodon's token responses carry it


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code: str, request: Any) -> None:
        db.session.add(
            AuthorizationCode(
                application_id=request.client.id,
                user_id=request.user.id,
                code_digest=tokens.digest(code),
                redirect_uri=request.payload.redirect_uri or request.client.get_default_redirect_uri(),
                scopes=request.payload.scope or "read",
                code_challenge=request.payload.data.get("code_challenge"),
                code_challenge_method=request.payload.data.get("code_challenge_method"),
                expires_at=utcnow() + CODE_LIFETIME,
            )
        )
        db.session.commit()

    def query_authorization_code(self, code: str, client: Client) -> Any:
        row = db.session.scalar(select(AuthorizationCode).where(AuthorizationCode.code_digest == tokens.digest(code)))
        if row is None or row.application_id != client.id or row.used_at is not None or row.expires_at <= utcnow():
            return None
        return _Code(row)

    def delete_authorization_code(self, authorization_code: Any) -> None:
        authorization_code.row.used_at = utcnow()
        db.session.commit()

    def authenticate_user(self, authorization_code: Any) -> User | None:
        return db.session.get(User, authorization_code.row.user_id)


class _Code:
    def __init__(self, row: AuthorizationCode) -> None:
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scopes


class PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def authenticate_user(self, username: str, password: str) -> User | None:
        from fedikit.plugin_api import Reject

        try:
            user = current().hook.authenticate(identifier=username, password=password)
        except Reject:
            return None
        return None if user is None or sign_in_refusal(user) is not None else user


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        row = tokens.find_by_refresh(refresh_token)
        return Token(row) if row else None

    def authenticate_user(self, refresh_token: Token) -> User | None:
        return refresh_token.get_user()

    def revoke_old_credential(self, refresh_token: Token) -> None:
        refresh_token.row.revoked_at = utcnow()
        db.session.commit()


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        row = None
        if token_type_hint != "refresh_token":
            row = tokens.find(token_string)
        if row is None and token_type_hint != "access_token":
            row = tokens.find_by_refresh(token_string)
        return Token(row) if row else None

    def revoke_token(self, token: Token, request: Any) -> None:
        token.row.revoked_at = utcnow()
        db.session.commit()


class _Request(FlaskOAuth2Request):
    """Token requests may come as JSON too (Mastodon accepts both); their fields count as form fields."""

    def __init__(self, request: Any) -> None:
        super().__init__(request)
        body = request.get_json(silent=True) if request.is_json else None
        self._fields = request.values
        if isinstance(body, dict):
            self._fields = CombinedMultiDict([request.values, MultiDict({k: str(v) for k, v in body.items()})])
        self.payload = _Payload(self._fields)

    @property
    def form(self) -> Any:
        return self._fields


class _Payload(FlaskOAuth2Payload):
    def __init__(self, fields: Any) -> None:
        self._fields = fields

    @property
    def data(self) -> Any:
        return self._fields


class Server(AuthorizationServer):
    def create_oauth2_request(self, request: Any) -> _Request:
        return _Request(flask_request)

    def create_bearer_token_generator(self, config: Any) -> Any:
        generator = super().create_bearer_token_generator({**config, "OAUTH2_REFRESH_TOKEN_GENERATOR": True})
        generator.expires_generator = lambda client, grant_type: 0  # Mastodon's tokens do not expire
        return generator


def make_server(app: Flask) -> Server:
    server = Server(app, query_client=_query_client, save_token=_save_token)
    server.register_grant(AuthorizationCodeGrant, [CodeChallenge(required=False)])
    server.register_grant(PasswordGrant)
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(Revocation)
    return server
