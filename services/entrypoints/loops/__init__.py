"""The process loops (recorder, projector, SLA ticker, alert dispatch, webhooks, chainer), each on the one
supervised `run_loop` (services.adapters.supervision), run in threads, alone (`touchline recorder` ...) or all together
(`touchline run`)."""
