"""People who use Outreach: users with roles, their dashboard sessions and API keys."""
