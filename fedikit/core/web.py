"""Core's own pages: the health check, the front page, and signing in with a password."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Request,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from fedikit.core.db import db, utcnow
from fedikit.core.errors import ValidationError
from fedikit.core.models import User
from fedikit.core.services.accounts import sign_in_refusal
from fedikit.core.state import current
from fedikit.plugin_api import FedikitError, NotFound, Reject

bp = Blueprint("core", __name__, template_folder="templates")


class SessionWhenSent(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, opened only for requests that bring the cookie.

    API clients send bearer tokens, never the cookie, and the sign-in pages'
    sessions start empty anyway: building the signing serializer for every API
    call cost a few hundredths of a millisecond each time for nothing.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


STATIC = Path(__file__).parent / "static"


@bp.get("/health")
def health():  # noqa: ANN201
    db.session.execute(text("SELECT 1"))
    return "OK", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


def signed_in_user() -> User | None:
    user_id = session.get("user_id")
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    if user is None or sign_in_refusal(user) is not None:
        session.pop("user_id", None)
        return None
    return user


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    """The form carries this session's token; a session that was never given one accepts no form."""
    kept = session.get("csrf")
    sent = request.form.get("csrf", "")
    if not kept or not hmac.compare_digest(sent.encode(), kept.encode()):
        abort(422, "The form expired; reload the page and try again")


@bp.get("/avatars/original/missing.png")
@bp.get("/headers/original/missing.png")
def missing_image():  # noqa: ANN201
    """The stand-in for accounts without an avatar or header."""
    return send_from_directory(STATIC, "missing.png", mimetype="image/png", max_age=86400)


@bp.get("/")
def index():  # noqa: ANN201
    from fedikit.core.admin_web import open_reports
    from fedikit.core.services.reports import may_moderate

    user = signed_in_user()
    reports = open_reports() if may_moderate(user) else None
    return render_template("index.html", user=user, reports=reports, domain=current().config["LOCAL_DOMAIN"])


@bp.route("/auth/sign_in", methods=["GET", "POST"])
def sign_in():  # noqa: ANN201
    error = None
    if request.method == "POST":
        check_csrf()
        identifier = request.form.get("email", "").strip()
        password = request.form.get("password", "")
        try:
            user = current().hook.authenticate(identifier=identifier, password=password)
        except Reject as exc:
            user, error = None, exc.reason
        refusal = sign_in_refusal(user) if user is not None else None
        if user is not None and refusal is None:
            session.clear()
            session["user_id"] = user.id
            user.last_sign_in_at, user.current_sign_in_at = user.current_sign_in_at, utcnow()
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
        error = error or refusal or "Invalid e-mail address or password."
    return (
        render_template("sign_in.html", error=error, csrf=csrf_token(), domain=current().config["LOCAL_DOMAIN"]),
        401 if error else 200,
    )


@bp.post("/auth/sign_out")
def sign_out():  # noqa: ANN201
    check_csrf()
    session.clear()
    return redirect(url_for("core.index"))


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect.

    Browsers drop tabs and newlines from URLs and read ``\\`` as ``/``, so any
    control character, space or backslash disqualifies the target outright.
    """
    if not target or any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in target):
        return url_for("core.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return url_for("core.index")
    return target


def _api_error(exc: HTTPException):  # noqa: ANN202
    """Mastodon's error body for API and OAuth paths; HTML elsewhere. Nothing half-done is kept."""
    db.session.rollback()
    if request.path.startswith(("/api/", "/oauth/")):
        return jsonify(error=exc.description or exc.name), exc.code
    return exc


def _domain_error(exc: FedikitError):  # noqa: ANN202
    db.session.rollback()
    code = 404 if isinstance(exc, NotFound) else getattr(exc, "status_code", 422)
    if request.path.startswith(("/api/", "/oauth/")):
        body = {"error": str(exc)}
        if isinstance(exc, ValidationError) and exc.fields:
            body["details"] = exc.details()  # field by field, as Mastodon details a failed sign-up
        return jsonify(body), code
    return str(exc), code


def register_core_routes(app: Flask) -> None:
    from fedikit.core import ratelimit
    from fedikit.core.api import register_api
    from fedikit.core.oauth.server import make_server
    from fedikit.core.oauth.views import bp as oauth_bp

    app.session_interface = SessionWhenSent()
    ratelimit.install(app)
    app.register_blueprint(bp)
    from fedikit.core.admin_web import bp as admin_bp

    app.register_blueprint(admin_bp)
    app.extensions["fedikit.oauth"] = make_server(app)
    app.register_blueprint(oauth_bp)
    register_api(app)
    from fedikit.core.streaming.views import bp as streaming_bp

    app.register_blueprint(streaming_bp)
    app.register_error_handler(HTTPException, _api_error)
    app.register_error_handler(FedikitError, _domain_error)
    app.jinja_env.globals["csrf_token"] = csrf_token
