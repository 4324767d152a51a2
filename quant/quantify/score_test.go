package quantify

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestScoreHandComputed(t *testing.T) {
	// Size 2 → ε = 1/4, s(x) = (1/4 + x)/(3/2).
	// Label 0 (p 1/2, p̂ 1/4): s = 1/2 vs 1/3 and 1/2 vs 2/3: RAE ½(⅓/½+⅓/½) = 1/3,
	// KLD ½ln(3/2) + ½ln(3/4). Label 1 (p 0, p̂ 1/2): s = 1/6 vs 1/2 and 5/6 vs
	// 1/2: RAE ½(2 + 2/5) = 6/5, KLD (1/6)ln(1/3) + (5/6)ln(5/3).
	got, err := Score([]float64{0.5, 0}, []float64{0.25, 0.5}, 2)
	if err != nil {
		t.Fatal(err)
	}
	kld := (0.5*math.Log(1.5) + 0.5*math.Log(0.75) + math.Log(1.0/3)/6 + 5*math.Log(5.0/3)/6) / 2
	near(t, "AE,RAE,KLD", []float64{got.AE, got.RAE, got.KLD}, []float64{0.375, (1.0/3 + 1.2) / 2, kld}, 1e-15)

	perfect, err := Score([]float64{0, 0.3, 1}, []float64{0, 0.3, 1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if perfect != (BagScore{}) {
		t.Fatalf("perfect estimate scored %+v", perfect)
	}
	// Extreme errors stay finite thanks to the smoothing.
	worst, err := Score([]float64{0}, []float64{1}, 1)
	if err != nil || math.IsInf(worst.RAE, 0) || math.IsInf(worst.KLD, 0) || worst.AE != 1 {
		t.Fatalf("worst case %+v, %v", worst, err)
	}

	for _, c := range []struct {
		truth, est []float64
		size       int
		want       string
	}{
		{[]float64{0.5}, []float64{0.5, 0.5}, 2, "1 true prevalences, 2 estimates"},
		{nil, nil, 2, "0 true"},
		{[]float64{0.5}, []float64{0.5}, 0, "bag size 0"},
		{[]float64{0.5}, []float64{math.NaN()}, 2, "NaN"},
	} {
		if _, err := Score(c.truth, c.est, c.size); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Score(%v, %v, %d): %v, want %q", c.truth, c.est, c.size, err, c.want)
		}
	}
}

func TestCompareTable(t *testing.T) {
	qs, err := FitStandard(tinyDevP, tinyDevY, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	bags := []Bag{
		{Indices: []int{0, 1}, Prevalence: []float64{1, 0.5}},
		{Indices: []int{2, 3, 3}, Prevalence: []float64{0, 1.0 / 3}},
	}
	tab, err := Compare(qs, tinyDevP, tinyDevY, bags)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range tab.Rows {
		names = append(names, r.Quantifier)
	}
	if strings.Join(names, ",") != "Constant,CC,PCC,ACC,PACC" || tab.Bags != 2 || tab.Labels != 2 {
		t.Fatalf("table %+v", tab)
	}
	// PCC: bag 1 estimates (0.75, 0.45), AE (0.25+0.05)/2 = 0.15; bag 2
	// (documents 2, 3, 3, drawn with replacement) estimates (0.2, 0.5), AE
	// (0.2 + 1/6)/2.
	if pcc, want := tab.Rows[2], (0.15+(0.2+1.0/6)/2)/2; math.Abs(pcc.AE-want) > 1e-15 {
		t.Fatalf("PCC AE %v, want %v", pcc.AE, want)
	}
	var buf bytes.Buffer
	if err := tab.Format(&buf); err != nil || !strings.Contains(buf.String(), "PACC") {
		t.Fatalf("format: %v\n%s", err, buf.String())
	}
	path := filepath.Join(t.TempDir(), "out", "quantify.json")
	if err := tab.SaveJSON(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back Table
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Rows[4].RAE != tab.Rows[4].RAE || back.Rows[0].Quantifier != "Constant" {
		t.Fatalf("JSON round trip: %s", b)
	}

	if _, err := Compare(qs, tinyDevP, tinyDevY, []Bag{{Indices: []int{9}, Prevalence: []float64{0, 0}}}); err == nil ||
		!strings.Contains(err.Error(), "outside") {
		t.Errorf("out-of-range index: %v", err)
	}
	if _, err := Compare(qs, tinyDevP, tinyDevY, []Bag{{Indices: nil, Prevalence: []float64{0, 0}}}); err == nil ||
		!strings.Contains(err.Error(), "empty bag") {
		t.Errorf("empty bag: %v", err)
	}
	if _, err := Compare(qs, tinyDevP, tinyDevY, []Bag{{Indices: []int{2}, Prevalence: []float64{1, 1}}}); err == nil ||
		!strings.Contains(err.Error(), "another pool") {
		t.Errorf("wrong prevalence: %v", err)
	}
	three := &Constant{Prevalence: []float64{0.1, 0.2, 0.3}}
	if _, err := Compare([]Quantifier{three}, tinyDevP, tinyDevY, bags); err == nil || !strings.Contains(err.Error(), "fitted for 3 labels") {
		t.Errorf("label-count mismatch: %v", err)
	}
	if _, err := Compare(qs, tinyDevP, tinyDevY, nil); err == nil {
		t.Error("no bags accepted")
	}
	nanP := [][]float64{{0.5, 0.5}, {math.NaN(), 0.5}, {0.5, 0.5}, {0.5, 0.5}}
	if _, err := Compare(qs, nanP, tinyDevY, bags); err == nil || !strings.Contains(err.Error(), "test") {
		t.Errorf("NaN test matrix: %v", err)
	}
}
