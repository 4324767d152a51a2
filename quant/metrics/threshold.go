package metrics

// The tuning grid is t_i = i/100, i = 1..99; float64(i)/100 is the same double
// numpy produces for i/100.0, so the fixtures see the same thresholds.
const gridSteps = 100

func gridThreshold(i int) float64 { return float64(i) / gridSteps }

// gridIndex returns the largest i in 1..99 with t_i <= p, or 0 when p is below
// every grid threshold: p is predicted positive at t_i exactly when i <= gridIndex(p).
// The first guess floor(p·100) can be off by one in float64, so it is
// corrected against the same comparison p >= t_i that prediction uses.
func gridIndex(p float64) int {
	k := min(max(int(p*gridSteps), 0), gridSteps-1)
	for k < gridSteps-1 && p >= gridThreshold(k+1) {
		k++
	}
	for k > 0 && p < gridThreshold(k) {
		k--
	}
	return k
}

// gridCounts holds, per grid index k, how many positives and negatives have
// gridIndex k; cumulative sums from the top then give TP and FP at every grid
// threshold in one pass over the data instead of 99.
type gridCounts struct {
	pos, neg [gridSteps]int
}

func (g *gridCounts) add(o *gridCounts) {
	for k := range g.pos {
		g.pos[k] += o.pos[k]
		g.neg[k] += o.neg[k]
	}
}

// best scans the grid and returns the index with the highest F1; ties go to
// the point closest to 0.5 (|i-50| smaller), and scanning upwards keeps the
// lower of two equally close points.
func (g *gridCounts) best() (int, float64) {
	totalPos := 0
	for _, n := range g.pos {
		totalPos += n
	}
	var tp, fp [gridSteps + 1]int // tp[i]: positives with gridIndex >= i
	for i := gridSteps - 1; i >= 1; i-- {
		tp[i], fp[i] = tp[i+1]+g.pos[i], fp[i+1]+g.neg[i]
	}
	bestI, bestF := 0, 0.0
	for i := 1; i < gridSteps; i++ {
		f := f1Counts(tp[i], fp[i], totalPos-tp[i])
		if bestI == 0 || f > bestF || (f == bestF && absInt(i-50) < absInt(bestI-50)) {
			bestI, bestF = i, f
		}
	}
	return bestI, bestF
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func labelGridCounts(probs, targets [][]float64, labels int) []gridCounts {
	g := make([]gridCounts, labels)
	for d, row := range probs {
		for j, p := range row {
			k := gridIndex(p)
			if targets[d][j] == 1 {
				g[j].pos[k]++
			} else {
				g[j].neg[k]++
			}
		}
	}
	return g
}

// TuneGlobalThreshold picks one threshold on dev maximising micro-F1 over the
// grid 0.01..0.99 step 0.01 (ties: closest to 0.5, then lower) and returns it
// with the dev micro-F1 it reaches.
func TuneGlobalThreshold(devProbs, devTargets [][]float64) (threshold, devMicroF1 float64, err error) {
	_, labels, err := Validate(devProbs, devTargets)
	if err != nil {
		return 0, 0, err
	}
	var all gridCounts
	for _, g := range labelGridCounts(devProbs, devTargets, labels) {
		all.add(&g)
	}
	i, f := all.best()
	return gridThreshold(i), f, nil
}

// TuneLabelThresholds picks, for each label, the grid threshold maximising its
// dev F1 (ties: closest to 0.5, then lower; a label without dev positives has F1
// 0 everywhere and so keeps 0.5).
func TuneLabelThresholds(devProbs, devTargets [][]float64) ([]float64, error) {
	_, labels, err := Validate(devProbs, devTargets)
	if err != nil {
		return nil, err
	}
	out := make([]float64, labels)
	for j, g := range labelGridCounts(devProbs, devTargets, labels) {
		i, _ := g.best()
		out[j] = gridThreshold(i)
	}
	return out, nil
}
