"""Media files on Amazon S3 or any S3-compatible server (MinIO, Ceph, R2, Spaces, Wasabi, ...).

Chosen with ``S3_ENABLED=true`` (or ``MEDIA_BACKEND=s3``). The settings use
Mastodon's names, so an existing ``.env.production`` carries over:

========================  ==========================  =======================================================
variable                  default                     meaning
========================  ==========================  =======================================================
S3_BUCKET                 (required)                  the bucket
S3_REGION                 us-east-1                   its region
S3_ENDPOINT               AWS, from the region        API endpoint of an S3-compatible server (URL)
AWS_ACCESS_KEY_ID         boto3's credential chain    key pair; set both or neither (neither: instance role)
AWS_SECRET_ACCESS_KEY
S3_SIGNATURE_VERSION      v4                          v4 or v2
S3_OVERRIDE_PATH_STYLE    false                       with S3_ENDPOINT, requests are path-style
                                                      (``endpoint/bucket/key``, what MinIO wants); true sends
                                                      them domain-style (``bucket.endpoint/key``)
S3_PROTOCOL               https (or S3_ENDPOINT's)    scheme of the URLs handed to clients
S3_HOSTNAME               S3_ENDPOINT's host, else    host of those URLs: ``S3_PROTOCOL://S3_HOSTNAME/
                          s3-<region>.amazonaws.com   S3_BUCKET/<key>``
S3_ALIAS_HOST             none                        a CDN or proxy in front of the bucket: URLs become
                                                      ``S3_PROTOCOL://S3_ALIAS_HOST/<key>`` (no bucket)
S3_PERMISSION             public-read (private when   object ACL sent with each upload; empty sends none
                          S3_PRESIGNED)               (for servers without ACLs, such as R2)
S3_PRESIGNED              false                       private bucket: URLs are presigned GETs
S3_PRESIGN_EXPIRES        86400                       how long a presigned URL works, in seconds (≤ 7 days)
S3_KEY_PREFIX             none                        folder for every key (several instances, one bucket)
S3_STORAGE_CLASS          the bucket's                e.g. STANDARD_IA
S3_FORCE_SINGLE_REQUEST   false                       never multipart (for servers that mishandle it)
S3_MULTIPART_THRESHOLD    15                          megabytes above which uploads go in parts
S3_OPEN_TIMEOUT           5                           seconds to connect
S3_READ_TIMEOUT           5                           seconds to wait for an answer
S3_MAX_ATTEMPTS           3                           tries per request (fedikit's own; with backoff)
========================  ==========================  =======================================================

Behaviour:

- Every object is stored with the Content-Type core found by sniffing the
  bytes. Public objects (``public-read``) also get a year-long, immutable
  Cache-Control: core never rewrites a key, it makes a new random one.
- Keys are checked as the local store checks them (no absolute paths, no
  ``.``/``..``/empty segments, no backslashes), then ``S3_KEY_PREFIX`` is put
  in front.
- URLs are built locally, with no request to S3. With ``S3_PRESIGNED`` each
  URL is a presigned GET valid for ``S3_PRESIGN_EXPIRES`` seconds from when
  the API answer was made; it is signed for the storage host, so it cannot
  go through ``S3_ALIAS_HOST`` (that combination is refused at startup).
  ``public_urls`` stays true: clients fetch from S3, never through the app.
- ``delete`` removes the object (a missing one is not an error). Core deletes
  files when media are deleted (``DELETE /api/v1/media/:id``) or replaced.
- When S3 cannot be reached or refuses a request, after the retries, the
  store raises :class:`~fedikit.plugins.s3_media.store.StorageUnavailable`
  (a ``BackendError``), which the API answers with ``503`` and
  ``{"error": "Media storage is unavailable, please try again later"}``.
  Core stores files before it commits the attachment row, so a failed
  upload leaves no row and removes the files already put.
- The settings are checked when the app is built, with a startup error
  naming the variable at fault; S3 itself is not contacted then, so web
  processes start (and serve everything but new media) while S3 is down.
"""

from __future__ import annotations

from fedikit.plugin_api import BackendContext, BackendKind, BackendRegistry, hookimpl


@hookimpl
def register_backends(registry: BackendRegistry) -> None:
    registry.add(BackendKind.MEDIA, "s3", _build, description="S3 or S3-compatible object storage (S3_BUCKET)")


def _build(context: BackendContext) -> object:
    from fedikit.plugins.s3_media.settings import S3Settings

    settings = S3Settings.from_config(context.config)  # before boto3 is imported: config errors come first
    from fedikit.plugins.s3_media.store import S3MediaStore

    return S3MediaStore(settings)
