"""fedikit's public surface for plugin authors.

Everything a plugin needs is importable from here::

    from fedikit.plugin_api import hookimpl, Reject, Visibility

Nothing else in fedikit is a stable interface for plugins.
"""

from fedikit.plugin_api.errors import BackendError, FedikitError, JobTimeout, NotFound, Reject, StartupError
from fedikit.plugin_api.markers import PROJECT_NAME, hookimpl, hookspec
from fedikit.plugin_api.pubsub import BufferedSubscription
from fedikit.plugin_api.types import (
    BACKEND_PROTOCOLS,
    AccountRecord,
    BackendContext,
    BackendFactory,
    BackendKind,
    BackendRegistry,
    Cache,
    FeedStore,
    Job,
    JobQueue,
    MediaStore,
    ModerationFilter,
    PostDraft,
    PubSub,
    RenderContext,
    RenderedContent,
    SearchDocuments,
    SearchIndex,
    StatusRecord,
    Subscription,
    UserRecord,
    Visibility,
    batch_job,
    batch_size,
    checked_media_key,
    retry_delay,
)

PLUGIN_API_VERSION = "1.1"
"""Version of this interface. Minor bumps add hooks; major bumps break them."""

__all__ = [
    "BACKEND_PROTOCOLS",
    "PLUGIN_API_VERSION",
    "PROJECT_NAME",
    "AccountRecord",
    "BackendContext",
    "BackendError",
    "BackendFactory",
    "BackendKind",
    "BackendRegistry",
    "BufferedSubscription",
    "Cache",
    "FedikitError",
    "FeedStore",
    "Job",
    "JobQueue",
    "JobTimeout",
    "MediaStore",
    "ModerationFilter",
    "NotFound",
    "PostDraft",
    "PubSub",
    "Reject",
    "RenderContext",
    "RenderedContent",
    "SearchDocuments",
    "SearchIndex",
    "StartupError",
    "StatusRecord",
    "Subscription",
    "UserRecord",
    "Visibility",
    "batch_job",
    "batch_size",
    "checked_media_key",
    "hookimpl",
    "hookspec",
    "retry_delay",
]
