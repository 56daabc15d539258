# MP3, wrong: computes the bits per value from I bits instead of I bytes.
import sys
from collections import Counter


def main() -> None:
    data = sys.stdin.buffer.read().split()
    n, disk = int(data[0]), int(data[1])
    counts = sorted(Counter(map(int, data[2 : 2 + n])).items())
    bits = disk // n
    window = 1 << min(bits, 30)
    sizes = [c for _, c in counts]
    best = current = sum(sizes[:window])
    for right in range(window, len(sizes)):
        current += sizes[right] - sizes[right - window]
        best = max(best, current)
    print(n - best)


main()
