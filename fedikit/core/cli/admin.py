"""Database, account and plugin administration commands."""

from __future__ import annotations

import click

from fedikit.core.cli import make_app
from fedikit.plugin_api import BackendKind, StartupError


def _app() -> object:
    try:
        return make_app(click.get_current_context())
    except StartupError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (core's and plugins')."""
    from fedikit.core.database import upgrade

    app = _app()
    upgrade(app)
    click.echo("Database is up to date.")


@click.group("accounts")
def accounts_group() -> None:
    """Local accounts."""


@accounts_group.command("create")
@click.argument("username")
@click.option("--email", required=True, help="E-mail address of the new user.")
@click.option("--confirmed", is_flag=True, help="Skip e-mail confirmation.")
@click.option("--role", type=click.Choice(["owner", "admin", "moderator", "user"]), default="user", show_default=True)
@click.option("--password", default=None, help="Password to set; without it one is generated and printed.")
def accounts_create(username: str, email: str, confirmed: bool, role: str, password: str | None) -> None:
    """Create a local account, as ``tootctl accounts create`` does."""
    from fedikit.core.errors import ValidationError
    from fedikit.core.passwords import generate_password
    from fedikit.core.services.accounts import create_local_account

    app = _app()
    generated = password is None
    password = password or generate_password()
    with app.app_context():
        try:
            create_local_account(username, email, password, role=role, confirmed=confirmed, reserved_ok=True)
        except ValidationError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo("OK")
    if generated:
        click.echo(f"New password: {password}")


@accounts_group.command("modify")
@click.argument("username")
@click.option("--reset-password", is_flag=True, help="Set a new generated password and print it.")
@click.option("--role", type=click.Choice(["owner", "admin", "moderator", "user"]), default=None)
@click.option("--confirm", is_flag=True, help="Mark the e-mail address confirmed.")
@click.option("--approve", is_flag=True, help="Approve a sign-up waiting for approval (REGISTRATIONS_MODE=approved).")
@click.option("--disable/--enable", default=None, help="Stop or allow signing in.")
def accounts_modify(
    username: str, reset_password: bool, role: str | None, confirm: bool, approve: bool, disable: bool | None
) -> None:
    """Change a local account, as ``tootctl accounts modify`` does."""
    from fedikit.core.db import db, utcnow
    from fedikit.core.passwords import generate_password
    from fedikit.core.services.accounts import find_local, set_password

    app = _app()
    with app.app_context():
        account = find_local(username)
        if account is None or account.user is None:
            raise click.ClickException(f"no local account named {username!r}")
        user = account.user
        if role:
            user.role = role
        if confirm and user.confirmed_at is None:
            user.confirmed_at = utcnow()
        if approve:
            user.approved = True
        if disable is not None:
            user.disabled = disable
        db.session.commit()
        if reset_password:
            password = generate_password()
            set_password(user, password)
            click.echo(f"New password: {password}")
    click.echo("OK")


def _local_and_other(username: str, handle: str, *, refresh: bool) -> tuple[object, object]:
    """The local account ``username`` and the account ``handle`` names (fetched, or fetched anew)."""
    from fedikit.core.services import accounts
    from fedikit.core.state import current

    account = accounts.find_local(username)
    if account is None:
        raise click.ClickException(f"no local account named {username!r}")
    other = accounts.resolve(handle)
    if other is None:
        raise click.ClickException(f"no account {handle!r} could be found")
    if refresh and not other.local:
        other = current().hook.resolve_object(url=other.uri) or other  # its aliases as its server says now
    return account, other


@accounts_group.command("alias")
@click.argument("username")
@click.argument("handle")
def accounts_alias(username: str, handle: str) -> None:
    """Say that the account HANDLE (user@domain) is also USERNAME: the step before HANDLE moves here."""
    from fedikit.core.errors import ValidationError
    from fedikit.core.services import accounts

    app = _app()
    with app.app_context():
        account, other = _local_and_other(username, handle, refresh=False)
        try:
            accounts.add_alias(account, other)
        except ValidationError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo("OK")


@accounts_group.command("move")
@click.argument("username")
@click.argument("handle")
def accounts_move(username: str, handle: str) -> None:
    """Move USERNAME to the account HANDLE (which must list USERNAME as an alias), with its followers."""
    from fedikit.core.errors import ValidationError
    from fedikit.core.services import accounts

    app = _app()
    with app.app_context():
        account, target = _local_and_other(username, handle, refresh=True)
        try:
            accounts.move(account, target)
        except ValidationError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo("OK")


@accounts_group.command("delete")
@click.argument("username")
@click.confirmation_option(prompt="Delete the account, its posts and its login for good?")
def accounts_delete(username: str) -> None:
    """Delete a local account, as ``tootctl accounts delete`` does: other servers are told it is gone."""
    from fedikit.core.services import accounts

    app = _app()
    with app.app_context():
        account = accounts.find_local(username)
        if account is None or account.user is None:
            raise click.ClickException(f"no local account named {username!r}")
        accounts.delete_local(account)
    click.echo("OK")


@accounts_group.command("ensure-owner")
@click.option("--username", default="owner", show_default=True)
@click.option("--email", default=None, help="Default: USERNAME@LOCAL_DOMAIN's host.")
def accounts_ensure_owner(username: str, email: str | None) -> None:
    """Create an owner account if the instance has none, and print how to sign in."""
    from sqlalchemy import select

    from fedikit.core.db import db
    from fedikit.core.models import Role, User
    from fedikit.core.passwords import generate_password
    from fedikit.core.services.accounts import create_local_account

    app = _app()
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.role == Role.OWNER.value).order_by(User.id))
        base = app.config["BASE_URL"]
        if owner is not None:
            click.echo(f"Owner account exists: sign in at {base}/auth/sign_in as {owner.email}")
            click.echo(f"(forgot the password? fedikit accounts modify {owner.account.username} --reset-password)")
            return
        host = app.config["LOCAL_DOMAIN"].split(":")[0]
        if "." not in host:
            host = f"{host}.localdomain"
        email = email or f"{username}@{host}"
        password = generate_password()
        create_local_account(username, email, password, role=Role.OWNER, confirmed=True, reserved_ok=True)
        click.echo(f"Created the owner account @{username}.")
        click.echo(f"Sign in at {base}/auth/sign_in")
        click.echo(f"  login:    {email}")
        click.echo(f"  password: {password}")


@click.group("plugins")
def plugins_group() -> None:
    """Installed plugins and chosen backends."""


@plugins_group.command("list")
def plugins_list() -> None:
    """Each plugin with its version, distribution and hooks; then the backend chosen per kind."""
    app = _app()
    state = app.extensions["fedikit"]
    for info in state.plugins:
        click.echo(f"{info.name}  {info.version}  ({info.distribution}; {info.source})")
        hooks = info.hooks(state.pm)
        click.echo(f"    hooks: {', '.join(hooks) if hooks else '-'}")
    click.echo("")
    click.echo("Backends:")
    for kind in BackendKind:
        choice = state.choices[kind]
        click.echo(f"  {kind:<10} {choice.offer.name}  (plugin {choice.offer.plugin}; {choice.reason})")
    if state.moderation_filters:
        click.echo("")
        click.echo("Moderation filters, in order: " + ", ".join(f.name for f in state.moderation_filters))


@click.group("domains")
def domains_group() -> None:
    """Remote domains: the admin's blocks (``tootctl domains`` and the admin API's domain blocks)."""


@domains_group.command("block")
@click.argument("domain")
@click.option("--severity", type=click.Choice(["noop", "silence", "suspend"]), default="suspend", show_default=True)
@click.option("--reject-media", is_flag=True, help="Keep no media from the domain.")
@click.option("--reject-reports", is_flag=True, help="Drop reports from the domain.")
@click.option("--comment", default="", help="Public comment shown with the block.")
def domains_block(domain: str, severity: str, reject_media: bool, reject_reports: bool, comment: str) -> None:
    """Block DOMAIN (and its subdomains), or change its block; running servers apply it within a second."""
    from fedikit.core.errors import ValidationError
    from fedikit.core.services import domain_blocks

    app = _app()
    with app.app_context():
        try:
            domain_blocks.block(
                domain,
                severity=severity,
                reject_media=reject_media,
                reject_reports=reject_reports,
                public_comment=comment,
            )
        except ValidationError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"Blocked {domain.strip().lower()} ({severity}).")


@domains_group.command("unblock")
@click.argument("domain")
def domains_unblock(domain: str) -> None:
    """Lift the block on DOMAIN."""
    from fedikit.core.services import domain_blocks

    app = _app()
    with app.app_context():
        if not domain_blocks.unblock(domain):
            raise click.ClickException(f"{domain} is not blocked")
    click.echo(f"Unblocked {domain.strip().lower()}.")


@domains_group.command("list")
def domains_list() -> None:
    """Every domain block: domain, severity, flags."""
    from fedikit.core.services import domain_blocks

    app = _app()
    with app.app_context():
        for found in domain_blocks.all_blocks():
            flags = [
                name
                for name, on in (("reject-media", found.reject_media), ("reject-reports", found.reject_reports))
                if on
            ]
            click.echo(f"{found.domain}  {found.severity}  {' '.join(flags)}".rstrip())
