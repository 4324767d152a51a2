package embfile

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func med2vecArrays() map[string]*Array {
	a := map[string]*Array{
		"W_emb": NewMatrix(3, 2), "b_emb": NewVector(2),
		"W_hidden": NewMatrix(4, 5), "b_hidden": NewVector(5),
		"W_output": NewMatrix(5, 2), "b_output": NewVector(2),
	}
	for _, arr := range a {
		for i := range arr.Data {
			arr.Data[i] = float32(i)*0.25 - 1
		}
	}
	a["W_emb"].Data[0] = float32(math.Inf(-1))
	a["W_emb"].Data[1] = -0.0
	a["W_emb"].Data[2] = math.SmallestNonzeroFloat32
	return a
}

func TestNPYRoundTrip(t *testing.T) {
	for _, shape := range [][]int{{3, 2}, {7}, {0, 4}, {}, {2, 3, 4}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		a := &Array{Shape: shape, Data: make([]float32, n)}
		for i := range a.Data {
			a.Data[i] = float32(i) / 3
		}
		var buf bytes.Buffer
		if err := WriteNPY(&buf, a); err != nil {
			t.Fatal(err)
		}
		// numpy's writer pads the header so that data starts on a 64-byte
		// boundary; readers do not need it, memory-mapping does.
		if hl := 10 + int(buf.Bytes()[8]) + int(buf.Bytes()[9])<<8; hl%64 != 0 {
			t.Errorf("shape %v: data starts at byte %d", shape, hl)
		}
		back, err := ReadNPY(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, a) {
			t.Errorf("shape %v: round trip %+v", shape, back)
		}
	}
	if err := WriteNPY(&bytes.Buffer{}, &Array{Shape: []int{2, 2}, Data: make([]float32, 3)}); err == nil {
		t.Error("shape/data mismatch accepted")
	}
}

func TestReadNPYBad(t *testing.T) {
	npy := func(header string, data int) []byte {
		b := []byte("\x93NUMPY\x01\x00")
		b = append(b, byte(len(header)), byte(len(header)>>8))
		b = append(b, header...)
		return append(b, make([]byte, data)...)
	}
	for _, tc := range []struct {
		b    []byte
		want string
	}{
		{npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", 8), `dtype ">f4"`},
		{npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }\n", 16), `dtype "<i8"`},
		{npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", 16), "Fortran order"},
		{npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", 8), "needs 12 bytes"},
		{npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", 8), "4 bytes after"},
		{npy("{'descr': '<f4', 'fortran_order': False, 'shape': (a,), }\n", 8), "shape field"},
		{[]byte("PK\x03\x04xxxxxxxx"), "bad magic"},
	} {
		_, err := ReadNPY(bytes.NewReader(tc.b), int64(len(tc.b)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

// testdata/numpy.npz was written by numpy.savez (scripts/make_visits_fixtures.py).
func TestReadNumpyFixture(t *testing.T) {
	arrays, err := ReadNPZ("testdata/numpy.npz")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckMed2Vec(arrays); err != nil {
		t.Fatal(err)
	}
	want := map[string]*Array{
		"W_emb":    {Shape: []int{3, 2}, Data: []float32{0.5, -1.25, 2, 0, 1e-3, 3.5}},
		"b_emb":    {Shape: []int{2}, Data: []float32{0.1, -0.2}}, // '<f8' in the file
		"W_hidden": {Shape: []int{2, 3}, Data: []float32{0, 0.25, 0.5, 0.75, 1, 1.25}},
		"b_hidden": {Shape: []int{3}, Data: []float32{1, 2, 3}},
		"W_output": {Shape: []int{3, 4}, Data: []float32{-6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5}},
		"b_output": {Shape: []int{4}, Data: []float32{0, 0.5, -0.5, 1}},
	}
	if !reflect.DeepEqual(arrays, want) {
		for k := range want {
			if !reflect.DeepEqual(arrays[k], want[k]) {
				t.Errorf("%s: %+v, want %+v", k, arrays[k], want[k])
			}
		}
	}
	if got := arrays["W_emb"].Row(2); got[1] != 3.5 {
		t.Errorf("row 2 %v", got)
	}
}

func TestMed2VecRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m2v.npz")
	arrays := med2vecArrays()
	codes := []string{"D_401.9", "D_E888.9", `D_"q"`}
	if err := WriteMed2Vec(path, arrays, codes); err != nil {
		t.Fatal(err)
	}
	if TypesPath(path) != filepath.Join(dir, "m2v.types.json") {
		t.Fatal(TypesPath(path))
	}
	back, backCodes, err := ReadMed2Vec(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(backCodes, codes) {
		t.Errorf("codes %v", backCodes)
	}
	for k, a := range arrays {
		b := back[k]
		if !reflect.DeepEqual(a.Shape, b.Shape) || len(a.Data) != len(b.Data) {
			t.Fatalf("%s: shape %v", k, b.Shape)
		}
		for i := range a.Data {
			if math.Float32bits(a.Data[i]) != math.Float32bits(b.Data[i]) {
				t.Fatalf("%s[%d] = %v, want %v", k, i, b.Data[i], a.Data[i])
			}
		}
	}
	if err := WriteMed2Vec(path, arrays, codes[:2]); err == nil || !strings.Contains(err.Error(), "W_emb has 3 rows, 2 codes") {
		t.Errorf("row/code mismatch: %v", err)
	}
	if err := WriteMed2Vec(path, arrays, []string{"a", "b", "a"}); err == nil || !strings.Contains(err.Error(), `"a" is on rows 0 and 2`) {
		t.Errorf("duplicate code: %v", err)
	}
	os.WriteFile(TypesPath(path), []byte(`{"a": 0, "b": 2, "c": 2}`), 0o644)
	if _, _, err := ReadMed2Vec(path); err == nil || !strings.Contains(err.Error(), "m2v.types.json: code") {
		t.Errorf("bad types: %v", err)
	}

	// numpy reads what we write (skipped where Debian's numpy is absent).
	py := "/usr/bin/python3"
	if exec.Command(py, "-c", "import numpy").Run() != nil {
		t.Log("numpy not available to /usr/bin/python3; skipping the numpy check")
		return
	}
	WriteTypes(TypesPath(path), codes)
	out, err := exec.Command(py, "../../scripts/check_npz.py", path).CombinedOutput()
	if err != nil {
		t.Fatalf("check_npz.py: %v\n%s", err, out)
	}
	for _, want := range []string{"W_emb <f4 (3, 2)", "b_emb <f4 (2,)", "W_output <f4 (5, 2)", "types 3 codes"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("check_npz.py output lacks %q:\n%s", want, out)
		}
	}
}

func TestCheckMed2Vec(t *testing.T) {
	a := med2vecArrays()
	delete(a, "b_output")
	if err := CheckMed2Vec(a); err == nil || !strings.Contains(err.Error(), "missing array b_output") {
		t.Errorf("%v", err)
	}
	a = med2vecArrays()
	a["b_hidden"] = NewVector(4)
	if err := CheckMed2Vec(a); err == nil || !strings.Contains(err.Error(), "b_hidden has 4 values, W_hidden has 5 columns") {
		t.Errorf("%v", err)
	}
	a = med2vecArrays()
	a["W_emb"] = NewVector(3)
	if err := CheckMed2Vec(a); err == nil || !strings.Contains(err.Error(), "W_emb has shape [3]") {
		t.Errorf("%v", err)
	}
	if _, err := ReadNPZ("embfile_test.go"); err == nil || !strings.Contains(err.Error(), "embfile_test.go: not a readable .npz") {
		t.Errorf("%v", err)
	}
}

func TestHierarchyJSON(t *testing.T) {
	dir := t.TempDir()
	sets := HierarchySets{
		"SG_CO_embeddings_3":   {"A01.00": {0.1, -2, 3e-8}, "I50.9": {1, 2, 3}},
		"Med2Vec_embeddings_2": {"D_401.9": {float32(math.MaxFloat32), -0}},
	}
	path := filepath.Join(dir, "embeddings.json")
	if err := WriteHierarchyJSON(path, sets); err != nil {
		t.Fatal(err)
	}
	back, err := ReadHierarchyJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, sets) {
		t.Fatalf("round trip %v", back)
	}
	only, err := ReadHierarchyJSON(path, "Med2Vec_embeddings_2")
	if err != nil || len(only) != 1 || only["Med2Vec_embeddings_2"] == nil {
		t.Fatalf("only: %v %v", only, err)
	}
	if _, err := ReadHierarchyJSON(path, "CBOW_SEP_embeddings_10"); err == nil || !strings.Contains(err.Error(), `no embedding set "CBOW_SEP_embeddings_10"`) {
		t.Errorf("absent set: %v", err)
	}

	// Defensive parsing: numeric strings and objects keyed "1".."k" (read
	// numerically: "10" after "9").
	obj := `{"S": {"A": {"1":"0.5","2":"1","3":"2","4":"3","5":"4","6":"5","7":"6","8":"7","9":"8","10":"9"}, "B": ["1","2","3","4","5","6","7","8","9","10"]}}`
	p := filepath.Join(dir, "obj.json")
	os.WriteFile(p, []byte(obj), 0o644)
	got, err := ReadHierarchyJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	if a := got["S"]["A"]; a[0] != 0.5 || a[9] != 9 || got["S"]["B"][9] != 10 {
		t.Errorf("parsed %v", got)
	}

	for _, tc := range []struct{ body, want string }{
		{`{"S": {"A": [1,2], "B": [1,2,3]}}`, "set S, code B: 3 values, earlier codes have 2"},
		{`{"S": {"A": [1,"x"]}}`, "set S, code A: value 1 is not a finite number"},
		{`{"S": {"A": {"1": 1, "3": 2}}}`, `set S, code A: vector object key "3"`},
		{`{"S": {"A": []}}`, "set S, code A: empty vector"},
		{`{"S": {"A": 5}}`, "neither a list nor an object"},
		{`{"S": [1]}`, "set S: want \"{\""},
		{`{"S": {"A": [1]}, "S": {}}`, "set S appears twice"},
		{`{"S": {"A": [1]}} {}`, "data after the top-level object"},
		{`{"S": {"A": [1]}`, "end of file"},
	} {
		os.WriteFile(p, []byte(tc.body), 0o644)
		_, err := ReadHierarchyJSON(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "obj.json: byte ") {
			t.Errorf("%s: error %v, want %q", tc.body, err, tc.want)
		}
	}
	if err := WriteHierarchyJSON(p, HierarchySets{"S": {"A": {float32(math.NaN())}}}); err == nil || !strings.Contains(err.Error(), "set S, code A, value 0") {
		t.Errorf("NaN: %v", err)
	}
	if err := WriteHierarchyJSON(p, HierarchySets{"S": {"A": {1}, "B": {1, 2}}}); err == nil || !strings.Contains(err.Error(), "set S, code B: 2 values") {
		t.Errorf("ragged: %v", err)
	}
}

func TestFromFloat64(t *testing.T) {
	a, err := FromFloat64([]int{2, 2}, []float64{0.1, 2, -3, 1e300})
	if err != nil {
		t.Fatal(err)
	}
	if a.Data[0] != float32(0.1) || !math.IsInf(float64(a.Data[3]), 1) || a.Float64()[1] != 2 {
		t.Errorf("%v", a.Data)
	}
	if _, err := FromFloat64([]int{2, 2}, make([]float64, 3)); err == nil || !strings.Contains(err.Error(), "needs 4 values, got 3") {
		t.Errorf("%v", err)
	}
}
