"""Benchmarks (filled in by the benchmark work)."""

import argparse


def main(args: argparse.Namespace) -> int:
    """Run the benchmark parts asked for."""
    raise SystemExit("benchmark not built yet")
