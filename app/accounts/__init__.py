"""Accounts: people, roles, sessions, e-mail links, API tokens and login throttling."""
