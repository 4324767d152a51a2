package embeval

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestScoresMatchSklearn(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "cluster_scores.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Sklearn string
		Cases   []struct {
			Name        string
			Truth, Pred []int
			NMI, AMI    float64
		}
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Cases) < 5 {
		t.Fatalf("only %d fixture cases", len(fx.Cases))
	}
	worst := 0.0
	for _, c := range fx.Cases {
		nmi, err := NMI(c.Truth, c.Pred)
		if err != nil {
			t.Fatal(err)
		}
		ami, err := AMI(c.Truth, c.Pred)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []struct {
			what      string
			got, want float64
		}{{"NMI", nmi, c.NMI}, {"AMI", ami, c.AMI}} {
			dev := math.Abs(d.got - d.want)
			worst = math.Max(worst, dev)
			if dev > 1e-9 {
				t.Errorf("%s: %s = %.15g, sklearn %.15g", c.Name, d.what, d.got, d.want)
			}
		}
	}
	t.Logf("%d cases, max |Go − sklearn %s| = %.3g", len(fx.Cases), fx.Sklearn, worst)
}

func TestScoreErrors(t *testing.T) {
	if _, err := NMI([]int{1, 2}, []int{1}); err == nil {
		t.Error("NMI accepted unequal lengths")
	}
	if _, err := AMI([]int{1}, []int{1, 2}); err == nil {
		t.Error("AMI accepted unequal lengths")
	}
	ids, names := Encode([]string{"b", "a", "b"})
	if !slices.Equal(ids, []int{0, 1, 0}) || !slices.Equal(names, []string{"b", "a"}) {
		t.Errorf("Encode: %v %v", ids, names)
	}
}

// blobs returns k well-separated Gaussian blobs of m points in dim dimensions.
func blobs(k, m, dim int, seed uint64) ([]float32, []int) {
	rng := rand.New(rand.NewPCG(seed, 3))
	var x []float32
	var truth []int
	for c := 0; c < k; c++ {
		centre := make([]float64, dim)
		for d := range centre {
			centre[d] = rng.Float64() * 100
		}
		for i := 0; i < m; i++ {
			for d := range centre {
				x = append(x, float32(centre[d]+rng.NormFloat64()))
			}
			truth = append(truth, c)
		}
	}
	return x, truth
}

func TestKMeans(t *testing.T) {
	x, truth := blobs(6, 30, 5, 1)
	res, err := KMeans(x, 5, KMeansOptions{K: 6, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	if nmi, _ := NMI(truth, res.Labels); math.Abs(nmi-1) > 1e-12 {
		t.Errorf("NMI %v on separated blobs, want 1", nmi)
	}
	// Inertia must equal the recomputed sum of squared distances.
	in := 0.0
	for i, l := range res.Labels {
		for d := 0; d < 5; d++ {
			v := float64(x[i*5+d]) - res.Centroids[l][d]
			in += v * v
		}
	}
	if math.Abs(in-res.Inertia) > 1e-9*in {
		t.Errorf("inertia %v, recomputed %v", res.Inertia, in)
	}
	again, _ := KMeans(x, 5, KMeansOptions{K: 6, Seed: 9})
	if !slices.Equal(res.Labels, again.Labels) || res.Inertia != again.Inertia {
		t.Error("same seed, different clustering")
	}
	// More restarts can only keep an equal or lower inertia (same first start).
	one, _ := KMeans(x, 5, KMeansOptions{K: 12, Seed: 2, Restarts: 1})
	many, _ := KMeans(x, 5, KMeansOptions{K: 12, Seed: 2, Restarts: 8})
	if many.Inertia > one.Inertia {
		t.Errorf("8 restarts inertia %v > 1 restart %v", many.Inertia, one.Inertia)
	}
	// Duplicated points: k equal to the number of points must still work.
	dup := []float32{1, 1, 1, 1, 2, 2}
	r, err := KMeans(dup, 2, KMeansOptions{K: 3, Seed: 1})
	if err != nil || r.Inertia > 1e-12 || len(r.Centroids) != 3 {
		t.Errorf("duplicates: %v %v", r, err)
	}
	for _, bad := range []KMeansOptions{{K: 0}, {K: 200}, {K: 2, Restarts: -1}} {
		if _, err := KMeans(x, 5, bad); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	if _, err := KMeans(x[:7], 5, KMeansOptions{K: 1}); err == nil {
		t.Error("accepted a ragged matrix")
	}
}

func TestPCA2(t *testing.T) {
	// Points along (1,2,0) with small spread along (0,0,1): the first
	// component is ±(1,2,0)/√5, sign fixed so the largest loading (2) is
	// positive.
	rng := rand.New(rand.NewPCG(4, 4))
	var x []float32
	var ts []float64
	for i := 0; i < 200; i++ {
		tv := rng.NormFloat64() * 10
		ts = append(ts, tv)
		x = append(x, float32(tv), float32(2*tv), float32(rng.NormFloat64()*0.1))
	}
	pts, frac, err := PCA2(x, 3)
	if err != nil {
		t.Fatal(err)
	}
	if frac[0] < 0.999 || frac[0]+frac[1] > 1+1e-12 {
		t.Errorf("explained variance %v", frac)
	}
	mean := 0.0
	for _, v := range ts {
		mean += v
	}
	mean /= float64(len(ts))
	for i := range pts {
		want := (ts[i] - mean) * math.Sqrt(5)
		if math.Abs(pts[i][0]-want) > 1e-3*math.Abs(want)+1e-3 {
			t.Fatalf("point %d: %v, want first coordinate %v", i, pts[i], want)
		}
	}
	// Negating the data must not flip the map: sign convention.
	neg := make([]float32, len(x))
	for i, v := range x {
		neg[i] = -v
	}
	pn, _, _ := PCA2(neg, 3)
	for i := range pts {
		if math.Abs(pn[i][0]+pts[i][0]) > 1e-3 {
			t.Fatalf("negated data: first coordinate %v vs %v (expected the mirror)", pn[i][0], pts[i][0])
		}
	}
	if _, _, err := PCA2(x[:5], 3); err == nil {
		t.Error("ragged matrix accepted")
	}
}

func TestJacobi(t *testing.T) {
	a := [][]float64{{4, 1, 2}, {1, 3, 0}, {2, 0, 5}}
	orig := [][]float64{{4, 1, 2}, {1, 3, 0}, {2, 0, 5}}
	vals, vecs := jacobi(a)
	for c := range vals {
		for r := 0; r < 3; r++ {
			av := 0.0
			for k := 0; k < 3; k++ {
				av += orig[r][k] * vecs[k][c]
			}
			if math.Abs(av-vals[c]*vecs[r][c]) > 1e-10 {
				t.Fatalf("A·v ≠ λ·v for eigenpair %d", c)
			}
		}
	}
	if s := vals[0] + vals[1] + vals[2]; math.Abs(s-12) > 1e-10 {
		t.Errorf("trace %v, want 12", s)
	}
}

func TestWriteSVGMap(t *testing.T) {
	pts := [][2]float64{{0, 0}, {1, 1}, {2, 0}, {3, 3}, {4, 1}}
	cats := []string{"A", "A", "B", "C", ""}
	path := filepath.Join(t.TempDir(), "map.svg")
	err := WriteSVGMap(path, pts, cats, MapOptions{Title: "codes <PCA>", Top: 2, Names: map[string]string{"A": "Alpha & co"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"<svg", "codes &lt;PCA&gt;", "A Alpha &amp; co (2)", "B (1)", "other (2)", palette[0], palette[1], "</svg>"} {
		if !strings.Contains(s, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if n := strings.Count(s, `r="2.5"`); n != 5 {
		t.Errorf("%d points drawn, want 5", n)
	}
	if strings.Contains(s, "C (1)") {
		t.Error("category beyond Top has a legend entry")
	}
	if err := WriteSVGMap(path, pts, cats[:2], MapOptions{}); err == nil {
		t.Error("length mismatch accepted")
	}
	if err := WriteSVGMap(path, [][2]float64{{math.NaN(), 0}}, []string{"A"}, MapOptions{}); err == nil {
		t.Error("NaN accepted")
	}
}
