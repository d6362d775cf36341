"""Personal data in stored events: which values are personal, whose they are, and sealing them per customer key."""
