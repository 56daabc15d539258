# Codehorses T-shirts: sizes already present in both lists cost nothing; every other
# size of the new list differs from some leftover old size of the same length in
# exactly one character, so the answer is the size of the multiset difference.
import sys
from collections import Counter


def main() -> None:
    data = sys.stdin.read().split()
    n = int(data[0])
    old = Counter(data[1 : 1 + n])
    new = Counter(data[1 + n : 1 + 2 * n])
    print(sum((new - old).values()))


main()
