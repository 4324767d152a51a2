package visits

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The testdata pickles were written by Python's pickle (protocol 2) with
// scripts/make_visits_fixtures.py; the values below are the ones it dumps.
func fixtureTypes() map[string]int {
	types := map[string]int{}
	for i, n := range []string{"D_401.9", "D_E888.9", "D_V45.11", "D_995.91", "D_250.00"} {
		types[n] = i
	}
	for i := 5; i <= 400; i++ {
		types[fmt.Sprintf("C%d", i)] = i
	}
	return types
}

func TestReadPythonPickles(t *testing.T) {
	ref, err := ReadReferenceFiles("testdata/ref")
	if err != nil {
		t.Fatal(err)
	}
	want := &Reference{
		Seqs:       [][]int{{0, 1, 2}, {3, 0}, {-1}, {2, 4, 300}, {1}},
		Types:      fixtureTypes(),
		Labels:     [][]int{{0, 1, 2}, {0}, {-1}, {2, 0}, {1}},
		LabelTypes: map[string]int{"D_401": 0, "D_E888": 1, "D_V45": 2},
	}
	if !reflect.DeepEqual(ref, want) {
		t.Fatalf("read %+v", ref)
	}
	ints, err := ReadPickleSeqs("testdata/ints.pkl")
	if err != nil {
		t.Fatal(err)
	}
	wantInts := [][]int{{0, 255, 256, 65535, 65536, -1, math.MaxInt32, math.MinInt32, 1 << 40, -(1 << 40)}}
	if !reflect.DeepEqual(ints, wantInts) {
		t.Errorf("ints %v, want %v", ints, wantInts)
	}
	demo, err := ReadPickleMatrix("testdata/demo.pkl")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(demo, [][]float64{{1.5, 0}, {2, -3.25}, {0, 0}}) {
		t.Errorf("demographics %v", demo)
	}
	shared, err := ReadPickleSeqs("testdata/shared.pkl")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(shared, [][]int{{7, 8}, {7, 8}, {9}}) {
		t.Errorf("memoised list: %v", shared)
	}
}

// Our writer emits what Python's pickler emits for these shapes, byte for
// byte, so the files are as loadable as the reference's own.
func TestWritePickleMatchesPython(t *testing.T) {
	dir := t.TempDir()
	ref, err := ReadReferenceFiles("testdata/ref")
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteReferenceFiles(filepath.Join(dir, "ref"), ref); err != nil {
		t.Fatal(err)
	}
	for _, suf := range []string{SeqsSuffix, TypesSuffix, LabelSeqsSuffix} {
		got, _ := os.ReadFile(filepath.Join(dir, "ref"+suf))
		want, _ := os.ReadFile("testdata/ref" + suf)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: Go writes %d bytes, Python %d, contents differ", suf, len(got), len(want))
		}
	}
	// Python writes a 1-item dict with SETITEM, ours uses SETITEMS; both
	// read back the same.
	back, err := ReadPickleTypes(filepath.Join(dir, "ref"+LabelTypesSuffix))
	if err != nil || !reflect.DeepEqual(back, ref.LabelTypes) {
		t.Errorf("label types %v, %v", back, err)
	}
}

func TestPickleRoundTrip(t *testing.T) {
	dir := t.TempDir()
	rows := [][]int{{}, {1 << 40, -5, 70000, 300}, {-1}}
	for i := 0; i < 1500; i++ { // more than one APPENDS batch
		rows[0] = append(rows[0], i)
	}
	p := filepath.Join(dir, "x.seqs")
	if err := WritePickleSeqs(p, rows); err != nil {
		t.Fatal(err)
	}
	back, err := ReadPickleSeqs(p)
	if err != nil || !reflect.DeepEqual(back, rows) {
		t.Fatalf("seqs round trip: %v", err)
	}
	m := [][]float64{{0.1, -2e300}, {math.Inf(1), 3}}
	if err := WritePickleMatrix(p, m); err != nil {
		t.Fatal(err)
	}
	backM, err := ReadPickleMatrix(p)
	if err != nil || !reflect.DeepEqual(backM, m) {
		t.Fatalf("matrix round trip: %v %v", backM, err)
	}
	types := map[string]int{"Ä": 0, `quote"'`: 1}
	if err := WritePickleTypes(p, types); err != nil {
		t.Fatal(err)
	}
	backT, err := ReadPickleTypes(p)
	if err != nil || !reflect.DeepEqual(backT, types) {
		t.Fatalf("types round trip: %v %v", backT, err)
	}
}

func TestPickleBadInput(t *testing.T) {
	dir := t.TempDir()
	n := 0
	write := func(b []byte) string {
		n++
		p := filepath.Join(dir, fmt.Sprintf("bad%d.pkl", n))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Python 2 cPickle writes str keys as SHORT_BINSTRING ('U').
	py2 := write([]byte("\x80\x02}q\x00(U\x07D_401.9q\x01K\x00U\x03D_1q\x02K\x01u."))
	if m, err := ReadPickleTypes(py2); err != nil || !reflect.DeepEqual(m, map[string]int{"D_401.9": 0, "D_1": 1}) {
		t.Errorf("python 2 types: %v %v", m, err)
	}
	cases := []struct {
		name string
		read func(string) error
		path string
		want string
	}{
		{"numpy array", seqsErr, "testdata/numpy_array.pkl", "GLOBAL"},
		{"seqs as types", typesErr, "testdata/ref.seqs", "top-level object is a list; want a dict"},
		{"types as seqs", seqsErr, "testdata/ref.types", "top-level object is a dict"},
		{"floats as ints", seqsErr, "testdata/demo.pkl", "element [0][0] is a float; want an int"},
		{"ragged matrix", matrixErr, write([]byte("\x80\x02](](K\x01K\x02e]K\x03ae.")), "element [1] has 1 numbers"},
		{"flat list", seqsErr, write([]byte("\x80\x02](K\x01K\x02e.")), "element [0] is a int; want a list"},
		{"truncated", seqsErr, write([]byte("\x80\x02](K\x01")), "truncated"},
		{"protocol 0", seqsErr, write([]byte("(lp0\n.")), "not a binary pickle"},
		{"reduce", seqsErr, write([]byte("\x80\x02]R.")), "opcode 0x52 is not allowed"},
		{"trailing", seqsErr, write([]byte("\x80\x02].junk")), "bytes after the end"},
		{"bad memo", seqsErr, write([]byte("\x80\x02h\x05.")), "memo entry 5"},
		{"int key", typesErr, write([]byte("\x80\x02}K\x01K\x02s.")), "dict key is a int"},
		{"str value", typesErr, write([]byte("\x80\x02}U\x01aU\x01bs.")), `value of key "a" is a str`},
		{"long string", seqsErr, write([]byte("\x80\x02X\xff\xff\xff\x7fab.")), "truncated"},
	}
	for _, tc := range cases {
		err := tc.read(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), filepath.Base(tc.path)) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func seqsErr(p string) error   { _, err := ReadPickleSeqs(p); return err }
func typesErr(p string) error  { _, err := ReadPickleTypes(p); return err }
func matrixErr(p string) error { _, err := ReadPickleMatrix(p); return err }

func TestReferenceFilesBadInput(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "r")
	ref := &Reference{Seqs: [][]int{{0, 1}, {-1}, {2}}, Types: map[string]int{"a": 0, "b": 1}}
	if err := WriteReferenceFiles(prefix, ref); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadReferenceFiles(prefix); err == nil || !strings.Contains(err.Error(), "r.seqs: element [2][0]: code id 2 is not in the types file") {
		t.Errorf("unknown code id: %v", err)
	}
	ref = &Reference{Seqs: [][]int{{0}, {-1}, {1}}, Types: map[string]int{"a": 0, "b": 1},
		Labels: [][]int{{0}, {0}, {-1}}, LabelTypes: map[string]int{"g": 0}}
	if err := WriteReferenceFiles(prefix, ref); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadReferenceFiles(prefix); err == nil || !strings.Contains(err.Error(), "row 1: separator") {
		t.Errorf("misaligned labels: %v", err)
	}
}

// FuzzDecodePickle: arbitrary bytes never panic or hang the decoder, and
// whatever it accepts as a list of lists of ints re-encodes to a pickle
// that decodes to the same rows.
func FuzzDecodePickle(f *testing.F) {
	for _, name := range []string{"ref.seqs", "ref.3digitICD9.types", "ints.pkl", "demo.pkl", "shared.pkl", "numpy_array.pkl"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("\x80\x02]q\x00h\x00a.")) // a list containing itself
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "f.pkl")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		ReadPickleTypes(p)
		ReadPickleMatrix(p)
		rows, err := ReadPickleSeqs(p)
		if err != nil {
			return
		}
		if err := WritePickleSeqs(p, rows); err != nil {
			t.Fatal(err)
		}
		back, err := ReadPickleSeqs(p)
		if err != nil || !reflect.DeepEqual(back, rows) {
			t.Fatalf("re-encoded rows differ: %v", err)
		}
	})
}
