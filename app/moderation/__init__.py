"""The moderation area: queue, decisions, merges, accounts, qualification and the audit log."""
