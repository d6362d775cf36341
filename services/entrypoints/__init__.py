"""Entry points: the HTTP API, the `touchline` command and the supervised process loops, over one composition root."""
