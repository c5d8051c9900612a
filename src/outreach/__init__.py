"""Outreach: self-hosted LinkedIn outreach automation on DBOS."""

__version__ = "0.1.0"
