# MP3: with n values and I bytes each value may use k = 8I // n bits, so at most 2^k
# distinct values may remain. Keep the window of 2^k consecutive distinct values that
# covers the most elements; everything outside it changes.
import sys
from collections import Counter


def main() -> None:
    data = sys.stdin.buffer.read().split()
    n, disk = int(data[0]), int(data[1])
    counts = sorted(Counter(map(int, data[2 : 2 + n])).items())
    bits = 8 * disk // n
    window = 1 << min(bits, 30)
    sizes = [c for _, c in counts]
    best = current = sum(sizes[:window])
    for right in range(window, len(sizes)):
        current += sizes[right] - sizes[right - window]
        best = max(best, current)
    print(n - best)


main()
