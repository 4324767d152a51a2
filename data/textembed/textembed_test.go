package textembed

import (
	"math"
	"reflect"
	"testing"
)

func TestNormalizeAndGrams(t *testing.T) {
	if got := Normalize("  Heart\tFAILURE \n NOS "); got != "heart failure nos" {
		t.Errorf("Normalize = %q", got)
	}
	want := []string{" a", "aa", "aa", "a ", " aa", "aaa", "aa ", " aaa", "aaa "}
	if got := Grams("AAA"); !reflect.DeepEqual(got, want) {
		t.Errorf("Grams(AAA) = %q, want %q", got, want)
	}
	if got := Grams(" \t "); got != nil {
		t.Errorf("Grams(blank) = %q, want none", got)
	}
	// Runes, not bytes: "é" is one character.
	if got := Grams("é"); !reflect.DeepEqual(got, []string{" é", "é ", " é "}) {
		t.Errorf("Grams(é) = %q", got)
	}
}

// TestEmbedByHand checks the TF-IDF weights of a two-text pool computed by
// hand. " aaa " has grams  a, aa×2, a ,  aa, aaa, aa ,  aaa, aaa  and " ab "
// has  a, ab, b ,  ab, ab ,  ab : only " a" is shared (idf = ln(3/3)+1 = 1);
// every other gram has idf c = ln(3/2)+1.
func TestEmbedByHand(t *testing.T) {
	c := math.Log(1.5) + 1
	vecs := Embed([]string{"aaa", "ab"})
	// Dimensions in order of first appearance: " a"=0, "aa"=1, "a "=2, " aa"=3,
	// "aaa"=4, "aa "=5, " aaa"=6, "aaa "=7, then "ab"=8, "b "=9, " ab"=10,
	// "ab "=11, " ab "=12.
	normA := math.Sqrt(1 + 4*c*c + 6*c*c)
	wantA := []float64{1 / normA, 2 * c / normA, c / normA, c / normA, c / normA, c / normA, c / normA, c / normA}
	checkVec(t, "aaa", vecs[0], []int32{0, 1, 2, 3, 4, 5, 6, 7}, wantA)
	normB := math.Sqrt(1 + 5*c*c)
	wantB := []float64{1 / normB, c / normB, c / normB, c / normB, c / normB, c / normB}
	checkVec(t, "ab", vecs[1], []int32{0, 8, 9, 10, 11, 12}, wantB)

	d := CosineDistances([]string{"aaa", "ab"})
	want := 1 - 1/(normA*normB)
	if math.Abs(d[1]-want) > 1e-15 || d[1] != d[2] {
		t.Errorf("distance = %v / %v, want %v", d[1], d[2], want)
	}
}

func checkVec(t *testing.T, name string, v Vector, idx []int32, val []float64) {
	t.Helper()
	if !reflect.DeepEqual(v.Index, idx) {
		t.Fatalf("%s: index %v, want %v", name, v.Index, idx)
	}
	for k := range val {
		if math.Abs(v.Value[k]-val[k]) > 1e-15 {
			t.Errorf("%s: value[%d] = %v, want %v", name, k, v.Value[k], val[k])
		}
	}
}

// TestDistancesByHand checks a three-text pool where IDF matters: "ab" and
// "abc" share  a, ab,  ab (present in 2 of 3 texts: idf ln(4/3)+1), and "xy"
// shares nothing with either.
func TestDistancesByHand(t *testing.T) {
	shared := math.Log(4.0/3) + 1
	own := math.Log(2) + 1
	// "ab": 6 grams, 3 shared; "abc": 9 grams, 3 shared.
	cos := 3 * shared * shared / math.Sqrt((3*shared*shared+3*own*own)*(3*shared*shared+6*own*own))
	d := CosineDistances([]string{"ab", "abc", "xy"})
	const n = 3
	if math.Abs(d[0*n+1]-(1-cos)) > 1e-15 {
		t.Errorf("d(ab, abc) = %v, want %v", d[1], 1-cos)
	}
	for _, ij := range [][2]int{{0, 2}, {1, 2}} {
		if got := d[ij[0]*n+ij[1]]; got != 1 {
			t.Errorf("d(%d,%d) = %v, want exactly 1 for strings with no common n-gram", ij[0], ij[1], got)
		}
	}
}

func TestDistancesProperties(t *testing.T) {
	texts := []string{
		"congestive heart failure", "Congestive  HEART failure", "heart failure, congestive",
		"chf", "cardiac failure", "zz", "", "  ", "heart failure nos", "décompensation cardiaque",
	}
	n := len(texts)
	d := CosineDistances(texts)
	if len(d) != n*n {
		t.Fatalf("len = %d, want %d", len(d), n*n)
	}
	for i := 0; i < n; i++ {
		if d[i*n+i] != 0 {
			t.Errorf("diagonal %d = %v", i, d[i*n+i])
		}
		for j := 0; j < n; j++ {
			v := d[i*n+j]
			if v != d[j*n+i] {
				t.Errorf("asymmetric at %d,%d: %v vs %v", i, j, v, d[j*n+i])
			}
			if math.IsNaN(v) || v < 0 || v > 1 {
				t.Errorf("d(%d,%d) = %v out of [0,1]", i, j, v)
			}
		}
	}
	if d[0*n+1] != 0 {
		t.Errorf("strings equal up to case and spacing: distance %v, want 0", d[1])
	}
	if d[6*n+7] != 0 {
		t.Errorf("two blank strings: distance %v, want 0", d[6*n+7])
	}
	if d[6*n+0] != 1 {
		t.Errorf("blank vs text: distance %v, want 1", d[6*n+0])
	}
	if d[0*n+5] != 1 {
		t.Errorf("disjoint strings: distance %v, want 1", d[0*n+5])
	}
	// Word order changes some n-grams only: close, but not identical.
	if v := d[0*n+2]; v <= 0 || v >= d[0*n+3] {
		t.Errorf("reordered words at %v, abbreviation at %v: want 0 < reordered < abbreviation", v, d[0*n+3])
	}
	if got := CosineDistances(nil); len(got) != 0 {
		t.Errorf("no texts: %v", got)
	}
	// Deterministic bit for bit.
	if again := CosineDistances(texts); !reflect.DeepEqual(again, d) {
		t.Error("two runs differ")
	}
}
