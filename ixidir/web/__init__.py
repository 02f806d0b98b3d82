"""The web UI (issue 15): a thin adapter from HTTP to the admin use-cases, in German and English."""
