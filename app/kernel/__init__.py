"""The small shared vocabulary below the domains: it imports no domain."""
