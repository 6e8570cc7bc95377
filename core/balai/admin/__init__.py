"""Region admin pages: plugins, settings, users and roles, appearance."""
