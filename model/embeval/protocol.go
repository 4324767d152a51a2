package embeval

import (
	"fmt"
)

// ClusterReport is the outcome of ScoreClusters.
type ClusterReport struct {
	K          int
	Codes      int // codes clustered (those with a category)
	Unlabelled int // codes left out for lack of a category
	Categories int // distinct categories among the clustered codes
	NMI, AMI   float64
	Inertia    float64
	Clustered  []string // the clustered codes, in input order
	Labels     []int    // their clusters
}

// ScoreClusters runs the protocol of Finch et al.: the codes that category
// labels (e.g. a groupers.Grouper's Lookup, with the CCSR default inpatient
// category) are clustered by k-means on their vectors (rows of x, n×dim,
// codes[i] owning row i), and the clusters are scored against the categories
// by NMI and AMI. Codes without a category are left out rather than given a
// catch-all label, which would inflate agreement.
func ScoreClusters(x []float32, dim int, codes []string, category func(string) (string, bool), opt KMeansOptions) (*ClusterReport, error) {
	if dim <= 0 || len(x) != len(codes)*dim {
		return nil, fmt.Errorf("embeval: %d values for %d codes of dimension %d", len(x), len(codes), dim)
	}
	rep := &ClusterReport{K: opt.K}
	var sub []float32
	var cats []string
	for i, c := range codes {
		cat, ok := category(c)
		if !ok {
			rep.Unlabelled++
			continue
		}
		sub = append(sub, x[i*dim:(i+1)*dim]...)
		cats = append(cats, cat)
		rep.Clustered = append(rep.Clustered, c)
	}
	rep.Codes = len(cats)
	if rep.Codes < opt.K {
		return nil, fmt.Errorf("embeval: %d codes have a category, fewer than k = %d", rep.Codes, opt.K)
	}
	truth, names := Encode(cats)
	rep.Categories = len(names)
	res, err := KMeans(sub, dim, opt)
	if err != nil {
		return nil, err
	}
	rep.Labels, rep.Inertia = res.Labels, res.Inertia
	if rep.NMI, err = NMI(truth, res.Labels); err != nil {
		return nil, err
	}
	if rep.AMI, err = AMI(truth, res.Labels); err != nil {
		return nil, err
	}
	return rep, nil
}

// MapCodes draws the PCA map of the code vectors (rows of x, codes[i] owning
// row i) coloured by category, written atomically as SVG to path. Codes
// without a category are drawn grey with the "other" group.
func MapCodes(path string, x []float32, dim int, codes []string, category func(string) (string, bool), opt MapOptions) error {
	if dim <= 0 || len(x) != len(codes)*dim {
		return fmt.Errorf("embeval: %d values for %d codes of dimension %d", len(x), len(codes), dim)
	}
	pts, frac, err := PCA2(x, dim)
	if err != nil {
		return err
	}
	cats := make([]string, len(codes))
	for i, c := range codes {
		cats[i], _ = category(c)
	}
	if opt.Title == "" {
		opt.Title = fmt.Sprintf("PCA of %d code vectors (%.1f%% + %.1f%% of variance)", len(codes), 100*frac[0], 100*frac[1])
	}
	return WriteSVGMap(path, pts, cats, opt)
}
