"""The client API's one flat route table: path, methods, view. Scopes sit on the views (``@scoped``)."""

from __future__ import annotations

from fedikit.core.api.v1 import accounts, apps, statuses, timelines

ROUTES = [
    ("/api/v1/apps", ["POST"], apps.create),
    ("/api/v1/apps/verify_credentials", ["GET"], apps.verify_credentials),
    ("/api/v1/accounts/verify_credentials", ["GET"], accounts.verify_credentials),
    ("/api/v1/accounts/relationships", ["GET"], accounts.relationships),
    ("/api/v1/accounts/lookup", ["GET"], accounts.lookup),
    ("/api/v1/accounts/<id>", ["GET"], accounts.show),
    ("/api/v1/accounts/<id>/statuses", ["GET"], accounts.statuses),
    ("/api/v1/accounts/<id>/follow", ["POST"], accounts.follow),
    ("/api/v1/accounts/<id>/unfollow", ["POST"], accounts.unfollow),
    ("/api/v1/statuses", ["POST"], statuses.create),
    ("/api/v1/statuses/<id>", ["GET"], statuses.show),
    ("/api/v1/statuses/<id>", ["DELETE"], statuses.destroy),
    ("/api/v1/statuses/<id>/context", ["GET"], statuses.context),
    ("/api/v1/statuses/<id>/favourite", ["POST"], statuses.favourite),
    ("/api/v1/statuses/<id>/unfavourite", ["POST"], statuses.unfavourite),
    ("/api/v1/statuses/<id>/reblog", ["POST"], statuses.reblog),
    ("/api/v1/statuses/<id>/unreblog", ["POST"], statuses.unreblog),
    ("/api/v1/timelines/home", ["GET"], timelines.home),
    ("/api/v1/timelines/public", ["GET"], timelines.public),
]
