# Present: bit k of the xor is the parity of pairs whose sum has bit k set. Taking the
# values mod 2^(k+1) and sorting, such sums lie in [2^k, 2^(k+1)) or [3 * 2^k, 2^(k+2)),
# counted with binary search for each element.
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
        low, high = 1 << k, 3 << k
        pairs = 0
        for i, x in enumerate(b):
            # partners j > i with sum in [low, mod) or [high, 2 * mod)
            pairs += bisect_left(b, mod - x, i + 1) - bisect_left(b, low - x, i + 1)
            pairs += n - bisect_left(b, high - x, i + 1)
        if pairs & 1:
            result |= 1 << k
    print(result)


main()
