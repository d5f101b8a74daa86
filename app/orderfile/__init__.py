"""The order file: one order read across the domains (what we expect, what carriers scanned,
what is open and what will open), behind the lookup API and the agent console."""
