package embfile

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/icdcode/icdcode/data/fileio"
)

// Med2VecKeys are the parameter names med2vec.py saves with numpy.savez,
// in the order it defines them.
var Med2VecKeys = []string{"W_emb", "b_emb", "W_hidden", "b_hidden", "W_output", "b_output"}

// WriteNPZ writes arrays atomically as an uncompressed .npz (a zip of
// <name>.npy members, as numpy.savez writes), members in sorted name order.
func WriteNPZ(path string, arrays map[string]*Array) error {
	names := make([]string, 0, len(arrays))
	for k := range arrays {
		names = append(names, k)
	}
	slices.Sort(names)
	return fileio.WriteAtomic(path, func(w io.Writer) error {
		zw := zip.NewWriter(w)
		for _, name := range names {
			if name == "" || strings.ContainsAny(name, "/\\") {
				return fmt.Errorf("write %s: array name %q is not a plain file name", path, name)
			}
			fw, err := zw.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: zip.Store})
			if err != nil {
				return fmt.Errorf("write %s: %w", path, err)
			}
			if err := WriteNPY(fw, arrays[name]); err != nil {
				return fmt.Errorf("write %s: array %s: %w", path, name, err)
			}
		}
		if err := zw.Close(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	})
}

// ReadNPZ reads every .npy member of an .npz (stored or deflated, as
// numpy.savez and savez_compressed write them), keyed by name without
// ".npy". Errors name the file and the member.
func ReadNPZ(path string) (map[string]*Array, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable .npz (zip) file: %w", path, err)
	}
	defer zr.Close()
	out := map[string]*Array{}
	for _, f := range zr.File {
		name, ok := strings.CutSuffix(f.Name, ".npy")
		if !ok {
			return nil, fmt.Errorf("%s: member %s is not an .npy file", path, f.Name)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%s: member %s appears twice", path, f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: member %s: %w", path, f.Name, err)
		}
		a, err := ReadNPY(rc, int64(f.UncompressedSize64))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: member %s: %w", path, f.Name, err)
		}
		out[name] = a
	}
	return out, nil
}

// TypesPath returns where the code→row map of an embedding .npz lives:
// "model.npz" → "model.types.json". The map is JSON {code: row}, written in
// row order, i.e. exactly the reference's .types dict, so Python reads it
// with json.load and gets what pickle.load gave it from .types.
func TypesPath(npzPath string) string {
	return strings.TrimSuffix(npzPath, ".npz") + ".types.json"
}

// CheckMed2Vec checks that arrays hold the reference's six parameters with
// consistent shapes: W_emb codes×emb, b_emb emb, W_hidden (emb+demographics)
// ×hidden, b_hidden hidden, W_output hidden×labels, b_output labels. Extra
// arrays are allowed (numpy users add their own).
func CheckMed2Vec(arrays map[string]*Array) error {
	for _, k := range Med2VecKeys {
		a, ok := arrays[k]
		if !ok {
			return fmt.Errorf("missing array %s (Med2Vec needs %s)", k, strings.Join(Med2VecKeys, ", "))
		}
		want := 2
		if strings.HasPrefix(k, "b_") {
			want = 1
		}
		if len(a.Shape) != want {
			return fmt.Errorf("array %s has shape %v; want %d dimensions", k, a.Shape, want)
		}
	}
	dim := func(k string, i int) int { return arrays[k].Shape[i] }
	switch {
	case dim("b_emb", 0) != dim("W_emb", 1):
		return fmt.Errorf("b_emb has %d values, W_emb has %d columns", dim("b_emb", 0), dim("W_emb", 1))
	case dim("W_hidden", 0) < dim("W_emb", 1):
		return fmt.Errorf("W_hidden has %d rows, fewer than W_emb's %d columns", dim("W_hidden", 0), dim("W_emb", 1))
	case dim("b_hidden", 0) != dim("W_hidden", 1):
		return fmt.Errorf("b_hidden has %d values, W_hidden has %d columns", dim("b_hidden", 0), dim("W_hidden", 1))
	case dim("W_output", 0) != dim("W_hidden", 1):
		return fmt.Errorf("W_output has %d rows, W_hidden has %d columns", dim("W_output", 0), dim("W_hidden", 1))
	case dim("b_output", 0) != dim("W_output", 1):
		return fmt.Errorf("b_output has %d values, W_output has %d columns", dim("b_output", 0), dim("W_output", 1))
	}
	return nil
}

// WriteMed2Vec writes the Med2Vec parameters to path (.npz) and the
// code→row map codes (codes[i] is row i of W_emb) to TypesPath(path), both
// atomically; the map is written first so that an .npz never exists
// without its map.
func WriteMed2Vec(path string, arrays map[string]*Array, codes []string) error {
	if err := CheckMed2Vec(arrays); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if rows := arrays["W_emb"].Shape[0]; rows != len(codes) {
		return fmt.Errorf("write %s: W_emb has %d rows, %d codes given", path, rows, len(codes))
	}
	if err := WriteTypes(TypesPath(path), codes); err != nil {
		return err
	}
	return WriteNPZ(path, arrays)
}

// ReadMed2Vec reads an .npz written by WriteMed2Vec or by med2vec.py with
// its code→row map (TypesPath), checking keys, shapes and that the map
// covers exactly the rows of W_emb.
func ReadMed2Vec(path string) (map[string]*Array, []string, error) {
	arrays, err := ReadNPZ(path)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckMed2Vec(arrays); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	codes, err := ReadTypes(TypesPath(path))
	if err != nil {
		return nil, nil, err
	}
	if rows := arrays["W_emb"].Shape[0]; rows != len(codes) {
		return nil, nil, fmt.Errorf("%s: %d codes for the %d rows of W_emb in %s", TypesPath(path), len(codes), rows, path)
	}
	return arrays, codes, nil
}

// WriteTypes writes {code: row} as JSON, one entry per line in row order.
func WriteTypes(path string, codes []string) error {
	seen := make(map[string]int, len(codes))
	for i, c := range codes {
		if prev, dup := seen[c]; dup {
			return fmt.Errorf("write %s: code %q is on rows %d and %d", path, c, prev, i)
		}
		seen[c] = i
	}
	return fileio.WriteAtomic(path, func(w io.Writer) error {
		io.WriteString(w, "{")
		for i, c := range codes {
			key, _ := json.Marshal(c)
			sep := ","
			if i == 0 {
				sep = ""
			}
			fmt.Fprintf(w, "%s\n%s: %d", sep, key, i)
		}
		_, err := io.WriteString(w, "\n}\n")
		return err
	})
}

// ReadTypes reads a {code: row} JSON map and returns the codes by row; rows
// must be exactly 0..n-1.
func ReadTypes(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]int
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: want a JSON object {code: row}: %w", path, err)
	}
	codes := make([]string, len(m))
	set := make([]bool, len(m))
	for c, i := range m {
		if i < 0 || i >= len(m) || set[i] {
			return nil, fmt.Errorf("%s: code %q has row %d; rows must be 0..%d, each once", path, c, i, len(m)-1)
		}
		set[i] = true
		codes[i] = c
	}
	return codes, nil
}
