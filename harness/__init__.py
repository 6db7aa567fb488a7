"""Drivers for the real app in Debian's Chromium, shared by the tests, the benchmarks and the screenshot scripts.

Neither tests nor benchmarks: both import it (run everything from the project root with ``python -m``).
"""
