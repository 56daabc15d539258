# Strange Matrix: a[i][j] = j + c[i][j] where c counts the increments. Moving j -> j-1
# is allowed iff c[j-1] <= c[j] + 1, and the total cost telescopes to a[m] - a[1], so
# only the cells that were incremented (and their left neighbours) need checking.
import sys


def main() -> None:
    data = sys.stdin.buffer.read().split()
    n, m, p = int(data[0]), int(data[1]), int(data[2])
    counts: dict[int, dict[int, int]] = {}
    pos = 3
    for _ in range(p):
        i, j = int(data[pos]), int(data[pos + 1])
        pos += 2
        row = counts.setdefault(i, {})
        row[j] = row.get(j, 0) + 1
    out = []
    for i in range(1, n + 1):
        row = counts.get(i)
        if not row:
            out.append(m - 1)
            continue
        ok = True
        for j, c in row.items():
            if j > 1 and row.get(j - 1, 0) > c + 1:
                ok = False
                break
            if j < m and c > row.get(j + 1, 0) + 1:
                ok = False
                break
        out.append(m - 1 + row.get(m, 0) - row.get(1, 0) if ok else -1)
    sys.stdout.write("\n".join(map(str, out)) + "\n")


main()
