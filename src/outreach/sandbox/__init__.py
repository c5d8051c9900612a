"""The simulated LinkedIn: a seeded population, its faults, its tables, and the fake Unipile.

``simulator`` is the simulated LinkedIn behind the ``LinkedInProvider`` port (the default
provider); ``fake_unipile`` serves the same simulator as Unipile's HTTP API, webhooks
included; ``courier`` hands the simulator's replies to the app as a webhook would.
"""
