"""The security suite of spec/reliability.md §3-4, one module per category.

S12 (`check --deploy` clean with production settings) lives in tests/test_settings.py and the
base security headers in tests/test_security_headers.py; this suite adds the per-page checks.
"""
