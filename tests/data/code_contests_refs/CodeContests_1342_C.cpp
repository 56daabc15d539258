// Yet Another Counting Problem: the two expressions repeat with period a * b, so count
// mismatches in one period and answer each query with prefix sums over it.
#include <cstdio>
#include <vector>

int main() {
    int t;
    if (std::scanf("%d", &t) != 1) return 0;
    while (t--) {
        long long a, b;
        int q;
        std::scanf("%lld %lld %d", &a, &b, &q);
        const long long period = a * b;
        std::vector<long long> prefix(period + 1, 0);
        for (long long x = 0; x < period; ++x) {
            prefix[x + 1] = prefix[x] + ((x % a) % b != (x % b) % a ? 1 : 0);
        }
        auto upto = [&](long long x) {  // mismatches in [0, x]
            return (x + 1) / period * prefix[period] + prefix[(x + 1) % period];
        };
        for (int i = 0; i < q; ++i) {
            long long lo, hi;
            std::scanf("%lld %lld", &lo, &hi);
            std::printf("%lld ", upto(hi) - upto(lo - 1));
        }
        std::printf("\n");
    }
    return 0;
}
