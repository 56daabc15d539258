# Codehorses T-shirts, wrong: compares the lists as sets, so repeated sizes are
# counted once.
import sys


def main() -> None:
    data = sys.stdin.read().split()
    n = int(data[0])
    old = set(data[1 : 1 + n])
    new = set(data[1 + n : 1 + 2 * n])
    print(len(new - old))


main()
