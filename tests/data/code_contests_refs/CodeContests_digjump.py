# Digit Jump: breadth-first search where every index also links to all indices holding
# the same digit. Each digit's group is expanded once, keeping the search linear.
import sys
from collections import deque


def main() -> None:
    s = sys.stdin.readline().strip()
    n = len(s)
    by_digit: dict[str, list[int]] = {}
    for i, ch in enumerate(s):
        by_digit.setdefault(ch, []).append(i)
    dist = [-1] * n
    dist[0] = 0
    queue = deque([0])
    while queue:
        i = queue.popleft()
        if i == n - 1:
            break
        nexts = [i - 1, i + 1]
        group = by_digit.pop(s[i], None)
        if group is not None:
            nexts.extend(group)
        for j in nexts:
            if 0 <= j < n and dist[j] < 0:
                dist[j] = dist[i] + 1
                queue.append(j)
    print(dist[n - 1])


main()
