"""The local Functions host's parts: loading the app, routes, functions, limits, request exchange, serving."""
