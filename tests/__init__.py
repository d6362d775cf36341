"""touchline's tests; kafka-python is imported here first so its DeprecationWarning stays quiet."""

import warnings

with warnings.catch_warnings():
    # kafka-python 3.0 reads its protocol schemas with importlib.resources.read_text, which calls open_text;
    # both are deprecated on Python 3.11. The inner warning is attributed to importlib.resources._legacy, so
    # pyproject's "ignore::DeprecationWarning:kafka.*" misses it. pytest imports this package before conftest.
    warnings.simplefilter("ignore", DeprecationWarning)
    import kafka  # noqa: F401
