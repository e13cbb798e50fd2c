# Runtime error: an off-by-one in the size of the prefix array. The first
# write past its end raises IndexError and Python exits with status 1.
import sys


def main():
    inp = sys.stdin.buffer
    n, q = map(int, inp.readline().split())
    a = list(map(int, inp.readline().split()))
    prefix = [0] * n  # should be n + 1
    for i in range(n):
        prefix[i + 1] = prefix[i] + a[i]
    rest = inp.read().split()
    for k in range(q):
        l, r = int(rest[2 * k]), int(rest[2 * k + 1])
        print(prefix[r] - prefix[l - 1])


main()
