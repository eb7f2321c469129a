"""Test helpers shared by several test packages (servers on loopback, builders)."""
