"""The streaming API: live events for clients over WebSocket and server-sent events.

How an event travels:

1. Something is committed (a status, a notification, a filter change, a
   revoked token). :mod:`.publish` turns it into a small message naming the
   event and the id it is about, and publishes it on the pub/sub backend's
   channels (``timeline:<account id>``, ``timeline:public:local``,
   ``timeline:hashtag:<name>``...). Statuses are published by a job, after
   their commit, with the audience core's fan-out computes; session hooks
   publish notifications, conversations, filter changes and token
   revocations when their transaction commits.
2. Each open stream (:class:`.connection.Connection`) is subscribed to the
   channels of the streams its client asked for. For every message it
   loads the status or notification again *for its own viewer*, through the
   same queries the REST timelines use: visibility, blocks, mutes, domain
   blocks, filters and timeline policies apply to every event exactly as
   they apply to a timeline page. Nothing the viewer could not fetch is sent.
3. :mod:`.views` serves the connection as server-sent events
   (``/api/v1/streaming/user``...) or on the multiplexed WebSocket
   (``/api/v1/streaming``), with heartbeats. A revoked token, a disabled
   user or a deleted app closes the stream within seconds.

Messages carry ids, never rendered entities: with a cross-process pub/sub
backend (Redis) any web process can serve any stream.
"""
