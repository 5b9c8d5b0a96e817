"""fedikit core: the app factory, data model, domain services, client API and CLI."""
