// Package embfile reads and writes code-embedding files that the Python
// world reads: numpy .npz archives with the Med2Vec reference's parameter
// keys plus a code→row map beside them, and the hierarchy-embedding JSON
// of Finch et al. ({set name: {code: [k values]}}).
//
// NPY is written as format version 1.0, little-endian float32 ('<f4'), C
// order; the reader also accepts '<f8' (converted to float32, as the Go
// trainers work in float32), versions 2.0 and 3.0 headers, and rejects
// Fortran order, big-endian and other dtypes by name. Arrays are held as a
// shape and a flat row-major []float32.
//
// Med2Vec output (WriteMed2Vec, ReadMed2Vec): "model.npz" holds the six
// arrays W_emb, b_emb, W_hidden, b_hidden, W_output, b_output (as
// med2vec.py's numpy.savez), and "model.types.json" beside it maps each code
// string to its row of W_emb, {"D_401.9": 0, ...}, one entry per line in row
// order: the reference's .types dict as JSON, so json.load replaces
// pickle.load. scripts/check_npz.py loads both with numpy. All writes are
// atomic (temp file + rename).
package embfile

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Array is an n-dimensional float32 array in C (row-major) order.
type Array struct {
	Shape []int
	Data  []float32
}

// NewMatrix returns a zero rows×cols array.
func NewMatrix(rows, cols int) *Array {
	return &Array{Shape: []int{rows, cols}, Data: make([]float32, rows*cols)}
}

// NewVector returns a zero vector of n values.
func NewVector(n int) *Array {
	return &Array{Shape: []int{n}, Data: make([]float32, n)}
}

// Row returns row i of a 2-D array (sharing its storage).
func (a *Array) Row(i int) []float32 {
	c := a.Shape[1]
	return a.Data[i*c : (i+1)*c]
}

func (a *Array) size() (int, error) {
	n := 1
	for _, d := range a.Shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", a.Shape)
		}
		if d != 0 && n > math.MaxInt32*64/d {
			return 0, fmt.Errorf("shape %v is too large", a.Shape)
		}
		n *= d
	}
	return n, nil
}

func shapeString(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	s := strings.Join(parts, ", ")
	if len(shape) == 1 {
		s += ","
	}
	return "(" + s + ")"
}

// WriteNPY writes a in NPY format 1.0 as '<f4'.
func WriteNPY(w io.Writer, a *Array) error {
	n, err := a.size()
	if err != nil {
		return err
	}
	if n != len(a.Data) {
		return fmt.Errorf("shape %v needs %d values, array has %d", a.Shape, n, len(a.Data))
	}
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shapeString(a.Shape))
	// The header (magic 6 + version 2 + length 2 + text + '\n') is padded
	// with spaces to a multiple of 64 bytes, as numpy does for alignment.
	total := 10 + len(header) + 1
	pad := (64 - total%64) % 64
	header += strings.Repeat(" ", pad) + "\n"
	if len(header) > math.MaxUint16 {
		return fmt.Errorf("npy header too long for format 1.0")
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("\x93NUMPY\x01\x00")
	binary.Write(bw, binary.LittleEndian, uint16(len(header)))
	bw.WriteString(header)
	var b [4]byte
	for _, v := range a.Data {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		bw.Write(b[:])
	}
	return bw.Flush()
}

var (
	reDescr   = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	reFortran = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	reShape   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// ReadNPY reads one NPY array of dtype '<f4' or '<f8' (also '|f4'-style
// byte-order-free spellings are not produced by numpy for floats and are
// rejected). size, when positive, bounds the data so that a corrupt header
// cannot ask for more memory than the file holds.
func ReadNPY(r io.Reader, size int64) (*Array, error) {
	var magic [8]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, fmt.Errorf("not an NPY file (too short)")
	}
	if string(magic[:6]) != "\x93NUMPY" {
		return nil, fmt.Errorf("not an NPY file (bad magic)")
	}
	var hlen int
	switch magic[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("truncated NPY header")
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("truncated NPY header")
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
		if hlen > 1<<20 {
			return nil, fmt.Errorf("NPY header of %d bytes is implausibly long", hlen)
		}
	default:
		return nil, fmt.Errorf("NPY format version %d.%d is not supported", magic[6], magic[7])
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, fmt.Errorf("truncated NPY header")
	}
	header := string(hb)
	m := reDescr.FindStringSubmatch(header)
	if m == nil {
		return nil, fmt.Errorf("NPY header has no descr field")
	}
	descr := m[1]
	width := 0
	switch descr {
	case "<f4":
		width = 4
	case "<f8":
		width = 8
	default:
		return nil, fmt.Errorf("NPY dtype %q is not supported (want '<f4' or '<f8')", descr)
	}
	if m := reFortran.FindStringSubmatch(header); m == nil {
		return nil, fmt.Errorf("NPY header has no fortran_order field")
	} else if m[1] == "True" {
		return nil, fmt.Errorf("NPY array is in Fortran order; want C order (np.ascontiguousarray)")
	}
	m = reShape.FindStringSubmatch(header)
	if m == nil {
		return nil, fmt.Errorf("NPY header has no shape field")
	}
	a := &Array{Shape: []int{}}
	for _, f := range strings.Split(m[1], ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		d, err := strconv.Atoi(strings.TrimSuffix(f, "L"))
		if err != nil || d < 0 {
			return nil, fmt.Errorf("NPY shape field %q is malformed", m[1])
		}
		a.Shape = append(a.Shape, d)
	}
	n, err := a.size()
	if err != nil {
		return nil, err
	}
	if size > 0 && int64(n)*int64(width) > size {
		return nil, fmt.Errorf("NPY shape %v needs %d bytes, the file has %d", a.Shape, int64(n)*int64(width), size)
	}
	raw := make([]byte, n*width)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, fmt.Errorf("NPY data truncated: shape %v needs %d bytes", a.Shape, len(raw))
	}
	if extra, _ := io.Copy(io.Discard, r); extra != 0 {
		return nil, fmt.Errorf("NPY data has %d bytes after the array of shape %v", extra, a.Shape)
	}
	a.Data = make([]float32, n)
	for i := range a.Data {
		if width == 4 {
			a.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		} else {
			a.Data[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	}
	return a, nil
}

// FromFloat64 converts a row-major float64 tensor (model/med2vec trains in
// float64) to a float32 Array, the reference's Theano floatX; data must
// hold exactly the shape's number of values.
func FromFloat64(shape []int, data []float64) (*Array, error) {
	a := &Array{Shape: append([]int(nil), shape...)}
	n, err := a.size()
	if err != nil {
		return nil, err
	}
	if n != len(data) {
		return nil, fmt.Errorf("shape %v needs %d values, got %d", shape, n, len(data))
	}
	a.Data = make([]float32, n)
	for i, v := range data {
		a.Data[i] = float32(v)
	}
	return a, nil
}

// Float64 returns the values widened to float64 (row-major).
func (a *Array) Float64() []float64 {
	out := make([]float64, len(a.Data))
	for i, v := range a.Data {
		out[i] = float64(v)
	}
	return out
}
