# Correct Solution?, wrong: compares numerically, so an answer with leading zeros
# (e.g. "00" for 0) is accepted.
import sys


def main() -> None:
    data = sys.stdin.read().split()
    n, m = data[0], data[1]
    digits = sorted(n)
    first = next((i for i, d in enumerate(digits) if d != "0"), None)
    if first is not None:
        digits.insert(0, digits.pop(first))
    print("OK" if int("".join(digits)) == int(m) else "WRONG_ANSWER")


main()
