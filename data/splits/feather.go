package splits

import (
	"fmt"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/icdcode/icdcode/data/dataset"
)

// readFeather reads a Feather v2 (Arrow IPC file) split list as Edin et al.
// published it: columns _id (int64) and split (utf8), LZ4- or
// ZSTD-compressed record batches, which the arrow ipc reader decompresses.
// Integer columns of other widths and dictionary-encoded split columns
// (pandas categoricals) are accepted too.
func readFeather(s *Split, path string) (err error) {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// The flatbuffer decoding inside arrow can panic on a damaged file; the
	// input is a user's file, so that becomes an error, never a crash (see
	// featherguard.go for what a recover cannot catch).
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: damaged Arrow IPC file (%v)", path, p)
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := checkFooter(f, st.Size()); err != nil {
		return fmt.Errorf("%s: not a readable Arrow IPC (Feather v2) file: %w", path, err)
	}
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(allocatorFor(st.Size())))
	if err != nil {
		return fmt.Errorf("%s: not an Arrow IPC (Feather v2) file: %w", path, err)
	}
	defer r.Close()
	schema := r.Schema()
	idCol, err := featherColumn(schema, path, "_id")
	if err != nil {
		return err
	}
	splitCol, err := featherColumn(schema, path, "split")
	if err != nil {
		return err
	}
	row := 0
	for b := 0; b < r.NumRecords(); b++ {
		rec, err := r.RecordBatch(b)
		if err != nil {
			return fmt.Errorf("%s: record batch %d: %w", path, b, err)
		}
		ids, splitNames := rec.Column(idCol), rec.Column(splitCol)
		for i := 0; i < int(rec.NumRows()); i++ {
			row++
			at := place{file: path, n: row, row: true}
			id, err := intAt(ids, i)
			if err != nil {
				return fmt.Errorf("%s, column _id: %w", at, err)
			}
			name, err := stringAt(splitNames, i)
			if err != nil {
				return fmt.Errorf("%s, column split: %w", at, err)
			}
			split, err := dataset.NormalizeSplit(strings.ToLower(strings.TrimSpace(name)))
			if err != nil {
				return fmt.Errorf("%s, column split: %w", at, err)
			}
			if id < 0 {
				return fmt.Errorf("%s, column _id: %d is not a HADM_ID", at, id)
			}
			if err := s.add(id, split, at); err != nil {
				return err
			}
		}
	}
	return nil
}

func featherColumn(schema *arrow.Schema, path, name string) (int, error) {
	var names []string
	for i, f := range schema.Fields() {
		if strings.EqualFold(f.Name, name) {
			return i, nil
		}
		names = append(names, f.Name)
	}
	return -1, fmt.Errorf("%s: no column %q (columns found: %s)", path, name, strings.Join(names, ", "))
}

func intAt(a arrow.Array, i int) (int64, error) {
	if a.IsNull(i) {
		return 0, fmt.Errorf("missing value")
	}
	switch c := a.(type) {
	case *array.Int64:
		return c.Value(i), nil
	case *array.Int32:
		return int64(c.Value(i)), nil
	case *array.Uint32:
		return int64(c.Value(i)), nil
	case *array.Uint64:
		if c.Value(i) > 1<<62 {
			return 0, fmt.Errorf("%d is out of range", c.Value(i))
		}
		return int64(c.Value(i)), nil
	}
	return 0, fmt.Errorf("type %s, want an integer column", a.DataType())
}

func stringAt(a arrow.Array, i int) (string, error) {
	if a.IsNull(i) {
		return "", fmt.Errorf("missing value")
	}
	switch c := a.(type) {
	case *array.String:
		return c.Value(i), nil
	case *array.LargeString:
		return c.Value(i), nil
	case *array.Dictionary:
		return stringAt(c.Dictionary(), c.GetValueIndex(i))
	}
	return "", fmt.Errorf("type %s, want a string column", a.DataType())
}
