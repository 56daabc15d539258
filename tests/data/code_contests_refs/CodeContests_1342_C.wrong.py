# Yet Another Counting Problem, wrong: counts the range as [l, r) (off by one at r).
import sys


def count_below(x: int, prefix: list[int]) -> int:
    """Mismatches in [0, x), given prefix sums over one period."""
    period = len(prefix) - 1
    return x // period * prefix[period] + prefix[x % period]


def main() -> None:
    data = sys.stdin.buffer.read().split()
    t = int(data[0])
    pos = 1
    lines = []
    for _ in range(t):
        a, b, q = int(data[pos]), int(data[pos + 1]), int(data[pos + 2])
        pos += 3
        prefix = [0] * (a * b + 1)
        for x in range(a * b):
            prefix[x + 1] = prefix[x] + ((x % a) % b != (x % b) % a)
        answers = []
        for _ in range(q):
            lo, hi = int(data[pos]), int(data[pos + 1])
            pos += 2
            answers.append(count_below(hi, prefix) - count_below(lo, prefix))
        lines.append(" ".join(map(str, answers)))
    sys.stdout.write("\n".join(lines) + "\n")


main()
