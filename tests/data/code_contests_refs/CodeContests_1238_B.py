# Kill 'Em All: always shoot the rightmost living monster; after s shots every monster
# has been pushed s * r to the left. Count distinct positions, largest first, that are
# still right of the traps when their turn comes.
import sys


def main() -> None:
    data = sys.stdin.buffer.read().split()
    q = int(data[0])
    pos = 1
    out = []
    for _ in range(q):
        n, r = int(data[pos]), int(data[pos + 1])
        xs = sorted({int(x) for x in data[pos + 2 : pos + 2 + n]}, reverse=True)
        pos += 2 + n
        shots = 0
        for x in xs:
            if x - shots * r > 0:
                shots += 1
        out.append(shots)
    sys.stdout.write("\n".join(map(str, out)) + "\n")


main()
