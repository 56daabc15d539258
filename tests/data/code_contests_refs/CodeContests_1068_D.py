# Array Without Local Maximums: dp over positions and values. State (v, done): the
# current element is v; done means it already has a left neighbour >= v, otherwise the
# next element must be >= v. Prefix sums make each step O(200).
import sys

MOD = 998244353
VALUES = 200


def main() -> None:
    data = sys.stdin.read().split()
    n = int(data[0])
    a = [int(x) for x in data[1 : 1 + n]]
    need = [0] * (VALUES + 1)  # need[v]: next element must be >= v
    done = [0] * (VALUES + 1)
    for v in range(1, VALUES + 1):
        if a[0] in (-1, v):
            need[v] = 1
    for i in range(1, n):
        below = [0] * (VALUES + 2)  # below[w] = sum over v < w of need[v] + done[v]
        for v in range(1, VALUES + 1):
            below[v + 1] = (below[v] + need[v] + done[v]) % MOD
        done_from = [0] * (VALUES + 2)  # done_from[w] = sum over v >= w of done[v]
        for v in range(VALUES, 0, -1):
            done_from[v] = (done_from[v + 1] + done[v]) % MOD
        new_need = [0] * (VALUES + 1)
        new_done = [0] * (VALUES + 1)
        for w in range(1, VALUES + 1):
            if a[i] not in (-1, w):
                continue
            new_need[w] = below[w]
            new_done[w] = (need[w] + done_from[w]) % MOD
        need, done = new_need, new_done
    print(sum(done) % MOD)


main()
