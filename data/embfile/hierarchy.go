package embfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/icdcode/icdcode/data/fileio"
)

// HierarchySets is the layout of Finch et al.'s embeddings.json: embedding
// set name (e.g. "SG_CO_embeddings_100") → code ("A01.00") → vector. All
// vectors of one set have the same length.
type HierarchySets map[string]map[string][]float32

// WriteHierarchyJSON writes sets atomically as {set: {code: [numbers]}},
// sets and codes sorted, one code per line, numbers in the shortest form
// that reads back as the same float32. NaN and infinities are errors (JSON
// has no spelling for them).
func WriteHierarchyJSON(path string, sets HierarchySets) error {
	names := make([]string, 0, len(sets))
	for k := range sets {
		names = append(names, k)
	}
	slices.Sort(names)
	return fileio.WriteAtomic(path, func(w io.Writer) error {
		io.WriteString(w, "{")
		for si, name := range names {
			set := sets[name]
			codes := make([]string, 0, len(set))
			for c := range set {
				codes = append(codes, c)
			}
			slices.Sort(codes)
			key, _ := json.Marshal(name)
			if si > 0 {
				io.WriteString(w, ",")
			}
			fmt.Fprintf(w, "\n%s: {", key)
			dim := -1
			for ci, code := range codes {
				vec := set[code]
				if dim >= 0 && len(vec) != dim {
					return fmt.Errorf("write %s: set %s, code %s: %d values, other codes have %d", path, name, code, len(vec), dim)
				}
				dim = len(vec)
				ck, _ := json.Marshal(code)
				if ci > 0 {
					io.WriteString(w, ",")
				}
				fmt.Fprintf(w, "\n  %s: [", ck)
				var buf []byte
				for i, v := range vec {
					f := float64(v)
					if math.IsNaN(f) || math.IsInf(f, 0) {
						return fmt.Errorf("write %s: set %s, code %s, value %d is %v; JSON cannot hold it", path, name, code, i, v)
					}
					if i > 0 {
						buf = append(buf, ',')
					}
					buf = strconv.AppendFloat(buf, f, 'g', -1, 32)
				}
				w.Write(buf)
				io.WriteString(w, "]")
			}
			io.WriteString(w, "\n}")
		}
		_, err := io.WriteString(w, "\n}\n")
		return err
	})
}

// ReadHierarchyJSON reads an embeddings.json. When only is non-empty, only
// those sets are kept (the published file has many sets; memory is then
// bounded by the ones asked for), and a set asked for but absent is an
// error. The file is streamed. Vectors may be JSON lists of numbers or of
// numeric strings, or objects keyed "1".."k" (both occur in consumers of the
// published file); object keys are ordered numerically. Errors name the
// file, the byte offset, the set and the code.
func ReadHierarchyJSON(path string, only ...string) (HierarchySets, error) {
	f, err := fileio.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	dec.UseNumber()
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s: byte %d: %s", path, dec.InputOffset(), fmt.Sprintf(format, args...))
	}
	expectDelim := func(want json.Delim, what string) error {
		t, err := dec.Token()
		if err != nil {
			return fail("%s: %v", what, err)
		}
		if d, ok := t.(json.Delim); !ok || d != want {
			return fail("%s: want %q, found %v", what, string(want), t)
		}
		return nil
	}
	keep := func(string) bool { return true }
	if len(only) > 0 {
		keep = func(s string) bool { return slices.Contains(only, s) }
	}
	if err := expectDelim('{', "top level"); err != nil {
		return nil, err
	}
	out := HierarchySets{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fail("set name: %v", err)
		}
		name := t.(string) // object keys are always strings
		if _, dup := out[name]; dup {
			return nil, fail("set %s appears twice", name)
		}
		if !keep(name) {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fail("set %s: %v", name, err)
			}
			continue
		}
		if err := expectDelim('{', "set "+name); err != nil {
			return nil, err
		}
		set := map[string][]float32{}
		dim := -1
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return nil, fail("set %s: %v", name, err)
			}
			code := t.(string)
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, fail("set %s, code %s: %v", name, code, err)
			}
			vec, err := parseVector(raw)
			if err != nil {
				return nil, fail("set %s, code %s: %v", name, code, err)
			}
			if _, dup := set[code]; dup {
				return nil, fail("set %s: code %s appears twice", name, code)
			}
			if dim >= 0 && len(vec) != dim {
				return nil, fail("set %s, code %s: %d values, earlier codes have %d", name, code, len(vec), dim)
			}
			dim = len(vec)
			set[code] = vec
		}
		if err := expectDelim('}', "end of set "+name); err != nil {
			return nil, err
		}
		out[name] = set
	}
	if err := expectDelim('}', "end of file"); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail("data after the top-level object")
	}
	for _, s := range only {
		if _, ok := out[s]; !ok {
			return nil, fmt.Errorf("%s: no embedding set %q", path, s)
		}
	}
	return out, nil
}

func parseVector(raw json.RawMessage) ([]float32, error) {
	raw = bytes.TrimSpace(raw)
	var vals []json.RawMessage
	switch {
	case len(raw) > 0 && raw[0] == '[':
		if err := json.Unmarshal(raw, &vals); err != nil {
			return nil, err
		}
	case len(raw) > 0 && raw[0] == '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		// Keys must be exactly "1".."k": anything else means the object is
		// not a vector, and sorting keys as strings would put "10" before "2".
		vals = make([]json.RawMessage, len(m))
		for k, v := range m {
			i, err := strconv.Atoi(k)
			if err != nil || i < 1 || i > len(m) || vals[i-1] != nil {
				return nil, fmt.Errorf("vector object key %q; want keys 1..%d", k, len(m))
			}
			vals[i-1] = v
		}
	default:
		return nil, fmt.Errorf("vector is neither a list nor an object")
	}
	if len(vals) == 0 {
		return nil, fmt.Errorf("empty vector")
	}
	vec := make([]float32, len(vals))
	for i, v := range vals {
		s := string(bytes.TrimSpace(v))
		if len(s) >= 2 && s[0] == '"' {
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, fmt.Errorf("value %d: %v", i, err)
			}
		}
		x, err := strconv.ParseFloat(s, 32)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("value %d is not a finite number", i)
		}
		vec[i] = float32(x)
	}
	return vec, nil
}
