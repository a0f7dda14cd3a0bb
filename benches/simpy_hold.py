#!/usr/bin/env python3
"""The hold model of `benches/engine.rs` (`hold/*`) in SimPy, for comparison (BENCHMARKS.md).

N processes each wait an exponential time (mean 1,000 ms) in a loop: N events are pending at
any moment, and every event popped schedules one more. Prints events/s for each N.

    pip install simpy
    python3 benches/simpy_hold.py            # N = 1,000 and 100,000
    python3 benches/simpy_hold.py 1000000    # any N (1,000,000 needs about 1 GB)
"""

import random
import sys
import time

import simpy

EVENTS = 1_000_000


def holder(env, rng, counter):
    while True:
        yield env.timeout(rng.expovariate(1 / 1000.0))
        counter[0] += 1


def run(pending):
    env = simpy.Environment()
    rng = random.Random(1)
    counter = [0]
    for _ in range(pending):
        env.process(holder(env, rng, counter))
    # Fill the queue, then time EVENTS pops.
    env.run(until=1)
    start_count, start = counter[0], time.perf_counter()
    while counter[0] - start_count < EVENTS:
        env.step()
    elapsed = time.perf_counter() - start
    return (counter[0] - start_count) / elapsed


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [1_000, 100_000]
    print(f"SimPy {simpy.__version__}, Python {sys.version.split()[0]}")
    for n in sizes:
        print(f"hold/simpy/{n}: {run(n) / 1e6:.2f} M events/s")


if __name__ == "__main__":
    main()
