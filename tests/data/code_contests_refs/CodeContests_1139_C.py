# Edgy Trees: a sequence is bad iff all its vertices lie in one component of the red
# (x = 0) edges, so the answer is n^k minus the sum of size^k over red components.
import sys

MOD = 10**9 + 7


def main() -> None:
    data = sys.stdin.buffer.read().split()
    n, k = int(data[0]), int(data[1])
    parent = list(range(n + 1))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    pos = 2
    for _ in range(n - 1):
        u, v, x = int(data[pos]), int(data[pos + 1]), int(data[pos + 2])
        pos += 3
        if x == 0:
            parent[find(u)] = find(v)
    sizes: dict[int, int] = {}
    for v in range(1, n + 1):
        root = find(v)
        sizes[root] = sizes.get(root, 0) + 1
    bad = sum(pow(s, k, MOD) for s in sizes.values())
    print((pow(n, k, MOD) - bad) % MOD)


main()
