"""The local Functions host's parts: loading the app, routes, functions, request exchange, serving."""
