# Digit Jump, wrong: the shortcut "first digit equals last digit, so one jump" forgets
# that a one-digit sequence needs no jump at all.
import sys
from collections import deque


def main() -> None:
    s = sys.stdin.readline().strip()
    n = len(s)
    if s[0] == s[-1]:
        print(1)
        return
    by_digit: dict[str, list[int]] = {}
    for i, ch in enumerate(s):
        by_digit.setdefault(ch, []).append(i)
    dist = [-1] * n
    dist[0] = 0
    queue = deque([0])
    while queue:
        i = queue.popleft()
        nexts = [i - 1, i + 1, *by_digit.pop(s[i], [])]
        for j in nexts:
            if 0 <= j < n and dist[j] < 0:
                dist[j] = dist[i] + 1
                queue.append(j)
    print(dist[n - 1])


main()
