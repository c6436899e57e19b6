"""The collector's HTTP side: the app, its routers, middleware and error answers."""
