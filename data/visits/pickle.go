package visits

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"slices"
	"unicode/utf8"

	"github.com/icdcode/icdcode/data/fileio"
)

// The reference writes its files with Python 2 cPickle.dump(obj, f, -1),
// i.e. pickle protocol 2. Pickle is a program for a stack machine that can
// import and call arbitrary Python callables, so it is never interpreted in
// general: this reader accepts an allow-list of opcodes that build lists,
// dicts, ints, floats and strings only (protocols 2 to 4 as Python 2 and 3
// write such objects), rejects everything else (GLOBAL, REDUCE, BUILD,
// tuples, objects, numpy arrays) by name and byte offset, and then checks
// the exact shape the caller asked for. Files are read whole: they are
// bounded by the number of visits.

// pyList is a Python list; a pointer, because the memo can alias it.
type pyList struct{ items []any }

// pyDict is a Python dict with string keys, in stream order.
type pyDict struct {
	keys []string
	vals map[string]any
}

type mark struct{}

func decodePickle(path string, data []byte) (any, error) {
	var (
		stack []any
		memo  = map[uint32]any{}
		pos   int
	)
	fail := func(at int, format string, args ...any) error {
		return fmt.Errorf("%s: byte %d: %s", path, at, fmt.Sprintf(format, args...))
	}
	need := func(at, n int) ([]byte, error) {
		if n < 0 || pos+n > len(data) {
			return nil, fail(at, "truncated pickle (need %d more bytes)", n)
		}
		b := data[pos : pos+n]
		pos += n
		return b, nil
	}
	pop := func(at int) (any, error) {
		if len(stack) == 0 {
			return nil, fail(at, "stack underflow")
		}
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := v.(mark); ok {
			return nil, fail(at, "unexpected mark")
		}
		return v, nil
	}
	popMark := func(at int) ([]any, error) {
		for i := len(stack) - 1; i >= 0; i-- {
			if _, ok := stack[i].(mark); ok {
				items := slices.Clone(stack[i+1:])
				stack = stack[:i]
				return items, nil
			}
		}
		return nil, fail(at, "no mark on the stack")
	}
	top := func(at int) (any, error) {
		if len(stack) == 0 {
			return nil, fail(at, "stack underflow")
		}
		return stack[len(stack)-1], nil
	}
	setItem := func(at int, d any, k, v any) error {
		dict, ok := d.(*pyDict)
		if !ok {
			return fail(at, "SETITEM(S) on a %s, not a dict", pyType(d))
		}
		key, ok := k.(string)
		if !ok {
			return fail(at, "dict key is a %s; only string keys are read", pyType(k))
		}
		if _, dup := dict.vals[key]; !dup {
			dict.keys = append(dict.keys, key)
		}
		dict.vals[key] = v
		return nil
	}
	for {
		if pos >= len(data) {
			return nil, fail(pos, "truncated pickle (no STOP opcode)")
		}
		at := pos
		op := data[pos]
		pos++
		switch op {
		case 0x80: // PROTO
			b, err := need(at, 1)
			if err != nil {
				return nil, err
			}
			if b[0] < 2 || b[0] > 4 {
				return nil, fail(at, "pickle protocol %d; protocols 2 to 4 are read", b[0])
			}
		case 0x95: // FRAME (protocol 4): only a length hint
			if _, err := need(at, 8); err != nil {
				return nil, err
			}
		case '.': // STOP
			if len(stack) != 1 {
				return nil, fail(at, "STOP with %d objects on the stack, want 1", len(stack))
			}
			if pos != len(data) {
				return nil, fail(pos, "%d bytes after the end of the pickle", len(data)-pos)
			}
			return pop(at)
		case '(': // MARK
			stack = append(stack, mark{})
		case ']': // EMPTY_LIST
			stack = append(stack, &pyList{})
		case '}': // EMPTY_DICT
			stack = append(stack, &pyDict{vals: map[string]any{}})
		case 'a': // APPEND
			v, err := pop(at)
			if err != nil {
				return nil, err
			}
			l, err := top(at)
			if err != nil {
				return nil, err
			}
			list, ok := l.(*pyList)
			if !ok {
				return nil, fail(at, "APPEND to a %s, not a list", pyType(l))
			}
			list.items = append(list.items, v)
		case 'e': // APPENDS
			items, err := popMark(at)
			if err != nil {
				return nil, err
			}
			l, err := top(at)
			if err != nil {
				return nil, err
			}
			list, ok := l.(*pyList)
			if !ok {
				return nil, fail(at, "APPENDS to a %s, not a list", pyType(l))
			}
			list.items = append(list.items, items...)
		case 's': // SETITEM
			v, err := pop(at)
			if err != nil {
				return nil, err
			}
			k, err := pop(at)
			if err != nil {
				return nil, err
			}
			d, err := top(at)
			if err != nil {
				return nil, err
			}
			if err := setItem(at, d, k, v); err != nil {
				return nil, err
			}
		case 'u': // SETITEMS
			items, err := popMark(at)
			if err != nil {
				return nil, err
			}
			if len(items)%2 != 0 {
				return nil, fail(at, "SETITEMS with an odd number of items")
			}
			d, err := top(at)
			if err != nil {
				return nil, err
			}
			for i := 0; i < len(items); i += 2 {
				if err := setItem(at, d, items[i], items[i+1]); err != nil {
					return nil, err
				}
			}
		case 'K': // BININT1
			b, err := need(at, 1)
			if err != nil {
				return nil, err
			}
			stack = append(stack, int64(b[0]))
		case 'M': // BININT2
			b, err := need(at, 2)
			if err != nil {
				return nil, err
			}
			stack = append(stack, int64(binary.LittleEndian.Uint16(b)))
		case 'J': // BININT
			b, err := need(at, 4)
			if err != nil {
				return nil, err
			}
			stack = append(stack, int64(int32(binary.LittleEndian.Uint32(b))))
		case 0x8a: // LONG1: little-endian two's complement
			n, err := need(at, 1)
			if err != nil {
				return nil, err
			}
			b, err := need(at, int(n[0]))
			if err != nil {
				return nil, err
			}
			v, ok := long1(b)
			if !ok {
				return nil, fail(at, "integer does not fit in 64 bits")
			}
			stack = append(stack, v)
		case 'G': // BINFLOAT: big-endian double
			b, err := need(at, 8)
			if err != nil {
				return nil, err
			}
			stack = append(stack, math.Float64frombits(binary.BigEndian.Uint64(b)))
		case 'X', 'T', 'U', 0x8c: // BINUNICODE, BINSTRING, SHORT_BINSTRING, SHORT_BINUNICODE
			var n int
			if op == 'U' || op == 0x8c {
				b, err := need(at, 1)
				if err != nil {
					return nil, err
				}
				n = int(b[0])
			} else {
				b, err := need(at, 4)
				if err != nil {
					return nil, err
				}
				n = int(binary.LittleEndian.Uint32(b))
				if op == 'T' {
					n = int(int32(uint32(n)))
				}
			}
			b, err := need(at, n)
			if err != nil {
				return nil, err
			}
			if !utf8.Valid(b) {
				return nil, fail(at, "string is not valid UTF-8")
			}
			stack = append(stack, string(b))
		case 'q', 'r', 0x94: // BINPUT, LONG_BINPUT, MEMOIZE
			v, err := top(at)
			if err != nil {
				return nil, err
			}
			var idx uint32
			switch op {
			case 'q':
				b, err := need(at, 1)
				if err != nil {
					return nil, err
				}
				idx = uint32(b[0])
			case 'r':
				b, err := need(at, 4)
				if err != nil {
					return nil, err
				}
				idx = binary.LittleEndian.Uint32(b)
			default:
				idx = uint32(len(memo))
			}
			memo[idx] = v
		case 'h', 'j': // BINGET, LONG_BINGET
			var idx uint32
			if op == 'h' {
				b, err := need(at, 1)
				if err != nil {
					return nil, err
				}
				idx = uint32(b[0])
			} else {
				b, err := need(at, 4)
				if err != nil {
					return nil, err
				}
				idx = binary.LittleEndian.Uint32(b)
			}
			v, ok := memo[idx]
			if !ok {
				return nil, fail(at, "memo entry %d is not defined", idx)
			}
			stack = append(stack, v)
		case 'c', 0x93:
			return nil, fail(at, "pickle refers to a Python class or function (GLOBAL); only plain lists, dicts, ints, floats and strings are read (for a numpy array, pickle array.tolist())")
		default:
			return nil, fail(at, "opcode 0x%02x is not allowed; only plain lists, dicts, ints, floats and strings are read", op)
		}
	}
}

func long1(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	if len(b) > 8 {
		// Python may use a redundant sign byte; fall back to big.Int.
		be := make([]byte, len(b))
		for i := range b {
			be[len(b)-1-i] = b[i]
		}
		v := new(big.Int).SetBytes(be)
		if b[len(b)-1]&0x80 != 0 {
			v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
		}
		if !v.IsInt64() {
			return 0, false
		}
		return v.Int64(), true
	}
	var u uint64
	for i := len(b) - 1; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	if b[len(b)-1]&0x80 != 0 && len(b) < 8 {
		u |= ^uint64(0) << (8 * len(b)) // sign-extend
	}
	return int64(u), true
}

func pyType(v any) string {
	switch v.(type) {
	case *pyList:
		return "list"
	case *pyDict:
		return "dict"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	}
	return fmt.Sprintf("%T", v)
}

func readPickle(path string) (any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%s: empty file, not a pickle", path)
	}
	if data[0] != 0x80 {
		return nil, fmt.Errorf("%s: byte 0: not a binary pickle (protocol 2 or later, as pickle.dump(obj, f, -1) writes)", path)
	}
	return decodePickle(path, data)
}

// ReadPickleSeqs reads a reference visit or label file: a pickled list of
// lists of ints (separator rows [-1] included).
func ReadPickleSeqs(path string) ([][]int, error) {
	v, err := readPickle(path)
	if err != nil {
		return nil, err
	}
	outer, ok := v.(*pyList)
	if !ok {
		return nil, fmt.Errorf("%s: top-level object is a %s; want a list of lists of ints", path, pyType(v))
	}
	rows := make([][]int, len(outer.items))
	for i, r := range outer.items {
		inner, ok := r.(*pyList)
		if !ok {
			return nil, fmt.Errorf("%s: element [%d] is a %s; want a list of ints", path, i, pyType(r))
		}
		rows[i] = make([]int, len(inner.items))
		for j, x := range inner.items {
			n, ok := x.(int64)
			if !ok || n != int64(int(n)) {
				return nil, fmt.Errorf("%s: element [%d][%d] is a %s; want an int", path, i, j, pyType(x))
			}
			rows[i][j] = int(n)
		}
	}
	return rows, nil
}

// ReadPickleTypes reads a reference .types file: a pickled dict str→int.
func ReadPickleTypes(path string) (map[string]int, error) {
	v, err := readPickle(path)
	if err != nil {
		return nil, err
	}
	d, ok := v.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("%s: top-level object is a %s; want a dict str→int", path, pyType(v))
	}
	out := make(map[string]int, len(d.keys))
	for _, k := range d.keys {
		n, ok := d.vals[k].(int64)
		if !ok || n != int64(int(n)) {
			return nil, fmt.Errorf("%s: value of key %q is a %s; want an int", path, k, pyType(d.vals[k]))
		}
		out[k] = int(n)
	}
	return out, nil
}

// ReadPickleMatrix reads a demographics file as a pickled list of equally
// long lists of numbers (ints or floats). med2vec.py also accepts a pickled
// numpy array there; that needs Python classes and is rejected (convert it
// with array.tolist() first).
func ReadPickleMatrix(path string) ([][]float64, error) {
	v, err := readPickle(path)
	if err != nil {
		return nil, err
	}
	outer, ok := v.(*pyList)
	if !ok {
		return nil, fmt.Errorf("%s: top-level object is a %s; want a list of lists of numbers", path, pyType(v))
	}
	rows := make([][]float64, len(outer.items))
	for i, r := range outer.items {
		inner, ok := r.(*pyList)
		if !ok {
			return nil, fmt.Errorf("%s: element [%d] is a %s; want a list of numbers", path, i, pyType(r))
		}
		if i > 0 && len(inner.items) != len(rows[0]) {
			return nil, fmt.Errorf("%s: element [%d] has %d numbers, element [0] has %d; rows must be equally long", path, i, len(inner.items), len(rows[0]))
		}
		rows[i] = make([]float64, len(inner.items))
		for j, x := range inner.items {
			switch n := x.(type) {
			case int64:
				rows[i][j] = float64(n)
			case float64:
				rows[i][j] = n
			default:
				return nil, fmt.Errorf("%s: element [%d][%d] is a %s; want a number", path, i, j, pyType(x))
			}
		}
	}
	return rows, nil
}

// pickleWriter emits protocol 2 the way Python's pickler does for these
// shapes (memoised lists and dicts, items batched 1000 per APPENDS/SETITEMS),
// so that Python 2 cPickle and Python 3 both load the files.
type pickleWriter struct {
	buf  bytes.Buffer
	memo uint32
}

func (p *pickleWriter) put() {
	if p.memo < 256 {
		p.buf.WriteByte('q')
		p.buf.WriteByte(byte(p.memo))
	} else {
		p.buf.WriteByte('r')
		binary.Write(&p.buf, binary.LittleEndian, p.memo)
	}
	p.memo++
}

func (p *pickleWriter) int(v int64) {
	switch {
	case v >= 0 && v < 256:
		p.buf.WriteByte('K')
		p.buf.WriteByte(byte(v))
	case v >= 0 && v < 65536:
		p.buf.WriteByte('M')
		binary.Write(&p.buf, binary.LittleEndian, uint16(v))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		p.buf.WriteByte('J')
		binary.Write(&p.buf, binary.LittleEndian, int32(v))
	default:
		p.buf.WriteByte(0x8a)
		p.buf.WriteByte(8)
		binary.Write(&p.buf, binary.LittleEndian, v)
	}
}

func (p *pickleWriter) str(s string) {
	p.buf.WriteByte('X')
	binary.Write(&p.buf, binary.LittleEndian, uint32(len(s)))
	p.buf.WriteString(s)
}

// list writes a list of n items, item(i) writing the i-th.
func (p *pickleWriter) list(n int, item func(i int)) {
	p.buf.WriteByte(']')
	p.put()
	for start := 0; start < n; start += 1000 {
		end := min(start+1000, n)
		if end-start == 1 {
			item(start)
			p.buf.WriteByte('a')
			continue
		}
		p.buf.WriteByte('(')
		for i := start; i < end; i++ {
			item(i)
		}
		p.buf.WriteByte('e')
	}
}

func writePickle(path string, fill func(p *pickleWriter)) error {
	p := &pickleWriter{}
	p.buf.Write([]byte{0x80, 2})
	fill(p)
	p.buf.WriteByte('.')
	return fileio.WriteAtomic(path, func(w io.Writer) error {
		if _, err := w.Write(p.buf.Bytes()); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	})
}

// WritePickleSeqs writes a visit or label file as the reference does.
func WritePickleSeqs(path string, rows [][]int) error {
	return writePickle(path, func(p *pickleWriter) {
		p.list(len(rows), func(i int) {
			p.list(len(rows[i]), func(j int) { p.int(int64(rows[i][j])) })
		})
	})
}

// WritePickleMatrix writes a demographics file as a list of lists of floats.
func WritePickleMatrix(path string, rows [][]float64) error {
	return writePickle(path, func(p *pickleWriter) {
		p.list(len(rows), func(i int) {
			p.list(len(rows[i]), func(j int) {
				p.buf.WriteByte('G')
				binary.Write(&p.buf, binary.BigEndian, math.Float64bits(rows[i][j]))
			})
		})
	})
}

// WritePickleTypes writes a .types dict str→int, keys in id order so that
// the file is deterministic.
func WritePickleTypes(path string, types map[string]int) error {
	keys := make([]string, 0, len(types))
	for k := range types {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if types[a] != types[b] {
			return types[a] - types[b]
		}
		return cmpString(a, b)
	})
	return writePickle(path, func(p *pickleWriter) {
		p.buf.WriteByte('}')
		p.put()
		for start := 0; start < len(keys); start += 1000 {
			end := min(start+1000, len(keys))
			p.buf.WriteByte('(')
			for _, k := range keys[start:end] {
				p.str(k)
				p.put()
				p.int(int64(types[k]))
			}
			p.buf.WriteByte('u')
		}
	})
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Reference file names, as process_mimic.py writes them beside <prefix>.
const (
	SeqsSuffix       = ".seqs"
	TypesSuffix      = ".types"
	LabelSeqsSuffix  = ".3digitICD9.seqs"
	LabelTypesSuffix = ".3digitICD9.types"
)

// WriteReferenceFiles writes <prefix>.seqs and .types, and the label files
// when ref has labels, as process_mimic.py does.
func WriteReferenceFiles(prefix string, ref *Reference) error {
	if err := WritePickleSeqs(prefix+SeqsSuffix, ref.Seqs); err != nil {
		return err
	}
	if err := WritePickleTypes(prefix+TypesSuffix, ref.Types); err != nil {
		return err
	}
	if ref.Labels == nil {
		return nil
	}
	if err := WritePickleSeqs(prefix+LabelSeqsSuffix, ref.Labels); err != nil {
		return err
	}
	return WritePickleTypes(prefix+LabelTypesSuffix, ref.LabelTypes)
}

// ReadReferenceFiles reads <prefix>.seqs and .types, and the 3-digit label
// files when <prefix>.3digitICD9.seqs exists (its .types is then required).
// It checks that every id is in its types map and that label rows line up
// with visit rows (same count, separators on the same rows).
func ReadReferenceFiles(prefix string) (*Reference, error) {
	ref := &Reference{}
	var err error
	if ref.Seqs, err = ReadPickleSeqs(prefix + SeqsSuffix); err != nil {
		return nil, err
	}
	if ref.Types, err = ReadPickleTypes(prefix + TypesSuffix); err != nil {
		return nil, err
	}
	if err := checkIDs(prefix+SeqsSuffix, ref.Seqs, ref.Types); err != nil {
		return nil, err
	}
	if _, err := os.Stat(prefix + LabelSeqsSuffix); os.IsNotExist(err) {
		return ref, nil
	}
	if ref.Labels, err = ReadPickleSeqs(prefix + LabelSeqsSuffix); err != nil {
		return nil, err
	}
	if ref.LabelTypes, err = ReadPickleTypes(prefix + LabelTypesSuffix); err != nil {
		return nil, err
	}
	if err := checkIDs(prefix+LabelSeqsSuffix, ref.Labels, ref.LabelTypes); err != nil {
		return nil, err
	}
	if len(ref.Labels) != len(ref.Seqs) {
		return nil, fmt.Errorf("%s: %d rows, %s has %d; label rows must line up with visit rows", prefix+LabelSeqsSuffix, len(ref.Labels), prefix+SeqsSuffix, len(ref.Seqs))
	}
	for i := range ref.Seqs {
		if isSep(ref.Seqs[i]) != isSep(ref.Labels[i]) {
			return nil, fmt.Errorf("%s: row %d: separator [-1] in one of the visit and label files only", prefix+LabelSeqsSuffix, i)
		}
	}
	return ref, nil
}

func isSep(row []int) bool { return len(row) == 1 && row[0] == -1 }

func checkIDs(path string, rows [][]int, types map[string]int) error {
	if _, err := Codes(types); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for i, row := range rows {
		if isSep(row) {
			continue
		}
		for j, id := range row {
			if id < 0 || id >= len(types) {
				return fmt.Errorf("%s: element [%d][%d]: code id %d is not in the types file (%d codes)", path, i, j, id, len(types))
			}
		}
	}
	return nil
}
