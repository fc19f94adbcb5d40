"""Tests for the Claude Usage integration."""
