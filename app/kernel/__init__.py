"""The shared vocabulary below every domain: findings and severities, the business calendar, rule
thresholds, clocks. It imports no domain, so every domain may import it."""
