// Kill 'Em All: shoot the rightmost living monster each time; after s shots every
// monster has moved s * r left. Distinct positions, largest first, that are still
// right of the traps need one shot each.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <vector>

int main() {
    int q;
    if (std::scanf("%d", &q) != 1) return 0;
    while (q--) {
        int n;
        long long r;
        std::scanf("%d %lld", &n, &r);
        std::vector<long long> xs(n);
        for (auto &x : xs) std::scanf("%lld", &x);
        std::sort(xs.begin(), xs.end(), std::greater<long long>());
        xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
        long long shots = 0;
        for (long long x : xs) {
            if (x - shots * r > 0) ++shots;
        }
        std::printf("%lld\n", shots);
    }
    return 0;
}
