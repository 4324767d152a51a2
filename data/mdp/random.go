package mdp

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Random returns m distinct candidates of n drawn uniformly without
// replacement, increasing; the same rng state gives the same draw.
func Random(n, m int, rng *rand.Rand) ([]int, error) {
	if m < 1 || m > n {
		return nil, fmt.Errorf("mdp: cannot draw %d of %d candidates", m, n)
	}
	// Partial Fisher–Yates: the first m slots end up a uniform m-subset.
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	for i := 0; i < m; i++ {
		j := i + rng.IntN(n-i)
		perm[i], perm[j] = perm[j], perm[i]
	}
	out := perm[:m:m]
	slices.Sort(out)
	return out, nil
}
