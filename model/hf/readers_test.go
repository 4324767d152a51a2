package hf

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func openBoth(t *testing.T, dir string) (*Safetensors, *PyTorch) {
	t.Helper()
	st, err := OpenSafetensors(filepath.Join("testdata", dir, SafetensorsFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pt, err := OpenPyTorch(filepath.Join("testdata", dir, PyTorchFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pt.Close() })
	return st, pt
}

func loadAll(t *testing.T, src Source) map[string]*Tensor {
	t.Helper()
	out := map[string]*Tensor{}
	for _, ti := range src.Tensors() {
		x, err := src.Load(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(x.Shape, ti.Shape) || len(x.Data) != ti.NumElements() {
			t.Fatalf("%s: %s shape %v, %d values; info %v", src.Path(), ti.Name, x.Shape, len(x.Data), ti.Shape)
		}
		out[ti.Name] = x
	}
	return out
}

// TestReadersAgree loads every fixture with both readers: same names, shapes,
// dtypes and bit-identical values.
func TestReadersAgree(t *testing.T) {
	for _, dir := range []string{"bert", "roberta", "megatron-bert", "bert-fp16", "bert-bf16"} {
		t.Run(dir, func(t *testing.T) {
			st, pt := openBoth(t, dir)
			si, pi := st.Tensors(), pt.Tensors()
			if len(si) != len(pi) || len(si) < 20 {
				t.Fatalf("safetensors has %d tensors, pytorch %d", len(si), len(pi))
			}
			for i := range si {
				if si[i].Name != pi[i].Name || si[i].DType != pi[i].DType || !slices.Equal(si[i].Shape, pi[i].Shape) {
					t.Fatalf("tensor %d: safetensors %+v, pytorch %+v", i, si[i], pi[i])
				}
			}
			a, b := loadAll(t, st), loadAll(t, pt)
			for name, x := range a {
				for i := range x.Data {
					if math.Float32bits(x.Data[i]) != math.Float32bits(b[name].Data[i]) {
						t.Fatalf("%s[%d]: safetensors %v, pytorch %v", name, i, x.Data[i], b[name].Data[i])
					}
				}
			}
			if st.Metadata()["format"] != "pt" {
				t.Errorf("metadata %v", st.Metadata())
			}
		})
	}
}

// TestHalfFixturesAreRoundedFP32 checks that the fp16/bf16 fixtures (torch's
// .half() / .bfloat16() of the fp32 weights) equal our own round-to-nearest-even
// conversion of the fp32 weights, element by element.
func TestHalfFixturesAreRoundedFP32(t *testing.T) {
	ref, err := OpenSafetensors(filepath.Join("testdata", "bert", SafetensorsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	full := loadAll(t, ref)
	for _, tc := range []struct {
		dir   string
		dt    DType
		round func(float32) float32
	}{
		{"bert-fp16", F16, func(v float32) float32 { return Float16ToFloat32(Float32ToFloat16(v)) }},
		{"bert-bf16", BF16, func(v float32) float32 { return BFloat16ToFloat32(Float32ToBFloat16(v)) }},
	} {
		for _, src := range []func(string) (Source, error){
			func(p string) (Source, error) { return OpenSafetensors(filepath.Join(p, SafetensorsFile)) },
			func(p string) (Source, error) { return OpenPyTorch(filepath.Join(p, PyTorchFile)) },
		} {
			s, err := src(filepath.Join("testdata", tc.dir))
			if err != nil {
				t.Fatal(err)
			}
			half := loadAll(t, s)
			s.Close()
			maxRel := 0.0
			for name, x := range full {
				if info, _ := s.Info(name); info.DType != tc.dt {
					t.Fatalf("%s %s dtype %s", tc.dir, name, info.DType)
				}
				for i, v := range x.Data {
					h := half[name].Data[i]
					if tc.round(v) != h {
						t.Fatalf("%s %s %s[%d]: fp32 %v rounds to %v, file holds %v", tc.dir, s.Format(), name, i, v, tc.round(v), h)
					}
					if v != 0 {
						maxRel = math.Max(maxRel, math.Abs(float64(h-v)/float64(v)))
					}
				}
			}
			if maxRel == 0 || maxRel > 1.0/128 {
				t.Errorf("%s: max relative rounding error %g", tc.dir, maxRel)
			}
		}
	}
}

func TestFloat16Exhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := Float16ToFloat32(uint16(h))
		if f != f {
			if g := Float32ToFloat16(f); g&0x7c00 != 0x7c00 || g&0x3ff == 0 {
				t.Fatalf("NaN %04x → %04x", h, g)
			}
			continue
		}
		if g := Float32ToFloat16(f); g != uint16(h) {
			t.Fatalf("%04x → %v → %04x", h, f, g)
		}
		b := BFloat16ToFloat32(uint16(h))
		if b == b && Float32ToBFloat16(b) != uint16(h) {
			t.Fatalf("bf16 %04x round trip", h)
		}
	}
	// Ties round to even, overflow to inf, tiny values to zero.
	for _, tc := range []struct {
		in   float32
		want uint16
	}{
		{1 + 1.0/2048, 0x3c00},         // tie between 1 and 1+2^-10 → even (1)
		{1 + 3.0/2048, 0x3c02},         // tie → even (1+2^-9)
		{65520, 0x7c00},                // rounds to inf
		{65519, 0x7bff},                // max half
		{float32(math.Pow(2, -25)), 0}, // tie with 0 → even (0)
		{float32(math.Pow(2, -24)), 1}, // smallest subnormal
		{-float32(math.Pow(2, -14)), 0x8400},
	} {
		if g := Float32ToFloat16(tc.in); g != tc.want {
			t.Errorf("Float32ToFloat16(%g) = %04x, want %04x", tc.in, g, tc.want)
		}
	}
	if g := Float32ToBFloat16(1 + 1.0/256); g != 0x3f80 { // tie → even
		t.Errorf("bf16 tie: %04x", g)
	}
}

// TestPyTorchViews reads special.bin: views with storage offsets and strides,
// a scalar, an empty tensor and int64/fp16/bf16/fp64 storages.
func TestPyTorchViews(t *testing.T) {
	var want map[string]struct {
		Shape  []int
		Values []float64
	}
	b, err := os.ReadFile(filepath.Join("testdata", "special.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	p, err := OpenPyTorch(filepath.Join("testdata", "special.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if len(p.Tensors()) != len(want) {
		t.Fatalf("%d tensors, want %d", len(p.Tensors()), len(want))
	}
	for name, w := range want {
		x, err := p.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(x.Shape, w.Shape) || len(x.Data) != len(w.Values) {
			t.Fatalf("%s: shape %v (%d values), want %v (%d)", name, x.Shape, len(x.Data), w.Shape, len(w.Values))
		}
		for i, v := range w.Values {
			if x.Data[i] != float32(v) {
				t.Errorf("%s[%d] = %v, want %v", name, i, x.Data[i], v)
			}
		}
	}
	if info, _ := p.Info("long"); info.DType != I64 {
		t.Errorf("long dtype %s", info.DType)
	}
}

func TestPyTorchLegacyRefused(t *testing.T) {
	_, err := OpenPyTorch(filepath.Join("testdata", "legacy.bin"))
	if err == nil || !strings.Contains(err.Error(), "legacy (pre-1.6, non-zip) torch.save format is not supported") {
		t.Fatalf("error %v", err)
	}
}

func TestSafetensorsWriteRoundTrip(t *testing.T) {
	tensors := []*Tensor{
		{Name: "b", Shape: []int{2, 3}, Data: []float32{1, -2.5, 3.14159, 1e-8, 65504, -0}},
		{Name: "a.scalar", Shape: []int{}, Data: []float32{0.1}},
		{Name: "empty", Shape: []int{0, 4}, Data: nil},
	}
	for _, dt := range []DType{F32, F16, BF16, F64} {
		p := filepath.Join(t.TempDir(), "model.safetensors")
		if err := WriteSafetensors(p, tensors, dt, map[string]string{"format": "pt", "note": "x"}); err != nil {
			t.Fatal(err)
		}
		s, err := OpenSafetensors(p)
		if err != nil {
			t.Fatal(err)
		}
		if s.Metadata()["note"] != "x" {
			t.Errorf("metadata %v", s.Metadata())
		}
		names := []string{}
		for _, ti := range s.Tensors() {
			names = append(names, ti.Name)
			if ti.DType != dt {
				t.Errorf("%s dtype %s", ti.Name, ti.DType)
			}
		}
		if !slices.Equal(names, []string{"a.scalar", "b", "empty"}) {
			t.Errorf("names %v", names)
		}
		for _, w := range tensors {
			x, err := s.Load(w.Name)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(x.Shape, w.Shape) || len(x.Data) != len(w.Data) {
				t.Fatalf("%s %s: shape %v", dt, w.Name, x.Shape)
			}
			for i, v := range w.Data {
				r := v
				switch dt {
				case F16:
					r = Float16ToFloat32(Float32ToFloat16(v))
				case BF16:
					r = BFloat16ToFloat32(Float32ToBFloat16(v))
				}
				if x.Data[i] != r {
					t.Errorf("%s %s[%d] = %v, want %v", dt, w.Name, i, x.Data[i], r)
				}
			}
		}
		s.Close()
		st, _ := os.Stat(p)
		if b, _ := os.ReadFile(p); (len(b) < 8) || (int(b[0])+8)%8 != 0 || st.Size() < 8 {
			t.Errorf("header not 8-byte aligned")
		}
	}
	// Errors: bad dtype, shape/data mismatch, duplicates; nothing left behind.
	dir := t.TempDir()
	p := filepath.Join(dir, "x.safetensors")
	for _, tc := range []struct {
		ts   []*Tensor
		dt   DType
		want string
	}{
		{tensors, I64, "not a float type"},
		{[]*Tensor{{Name: "a", Shape: []int{3}, Data: []float32{1}}}, F32, "has shape [3] but 1 values"},
		{[]*Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}, {Name: "a", Shape: []int{1}, Data: []float32{1}}}, F32, "duplicate tensor"},
		{[]*Tensor{{Name: "__metadata__", Shape: []int{1}, Data: []float32{1}}}, F32, "invalid tensor name"},
	} {
		err := WriteSafetensors(p, tc.ts, tc.dt, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind %v", entries)
	}
}
