"""Regression tests of the security review: each test reproduces one way around enforcement
and fails without its fix. Enforcement is checked as the app role, with RLS asserted effective."""
