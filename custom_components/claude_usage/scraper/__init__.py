"""Reads Claude.ai usage in a child process; see ARCHITECTURE.md for its contract.

Nothing here may import Home Assistant: the integration runs this package as a script with
`python3 .../scraper <command>`, and the package must stay light to start.
"""
