# Kill 'Em All, wrong: treats a monster pushed exactly to 0 as alive (the traps also
# cover the origin).
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
            if x - shots * r >= 0:
                shots += 1
        out.append(shots)
    sys.stdout.write("\n".join(map(str, out)) + "\n")


main()
