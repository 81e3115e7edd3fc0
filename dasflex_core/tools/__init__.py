"""Stream tools: drop-in Python versions of the das2C command line programs."""
