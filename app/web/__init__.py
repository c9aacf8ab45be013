"""Web plumbing shared by every domain: templates, i18n, security, errors, dependencies.
Knows no domain."""
