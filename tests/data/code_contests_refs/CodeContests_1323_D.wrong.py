# Present, wrong: misses the second window [3 * 2^k, 2^(k+2)) where a carry sets bit k.
import sys
from bisect import bisect_left


def main() -> None:
    data = sys.stdin.buffer.read().split()
    n = int(data[0])
    a = [int(x) for x in data[1 : 1 + n]]
    result = 0
    for k in range(26):
        mod = 1 << (k + 1)
        b = sorted(x % mod for x in a)
        low = 1 << k
        pairs = 0
        for i, x in enumerate(b):
            pairs += bisect_left(b, mod - x, i + 1) - bisect_left(b, low - x, i + 1)
        if pairs & 1:
            result |= 1 << k
    print(result)


main()
