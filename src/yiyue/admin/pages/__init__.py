"""Console routes, one module per menu area; each route is thin (parse, call a service, render)."""
