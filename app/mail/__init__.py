"""The e-mail outbox: messages are queued in the database and delivered by the worker."""
