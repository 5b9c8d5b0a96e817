"""The one pair of pluggy markers every fedikit plugin uses."""

import pluggy

PROJECT_NAME = "fedikit"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
