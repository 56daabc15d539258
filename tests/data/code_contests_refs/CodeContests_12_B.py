# Correct Solution?: the smallest number from n's digits is the sorted digits with the
# first non-zero digit moved to the front; Bob's answer must equal it as text (leading
# zeros make it wrong).
import sys


def main() -> None:
    data = sys.stdin.read().split()
    n, m = data[0], data[1] if len(data) > 1 else ""
    digits = sorted(n)
    first = next((i for i, d in enumerate(digits) if d != "0"), None)
    if first is not None:
        digits.insert(0, digits.pop(first))
    print("OK" if "".join(digits) == m else "WRONG_ANSWER")


main()
