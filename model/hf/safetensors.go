package hf

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/icdcode/icdcode/data/fileio"
)

// MaxSafetensorsHeader bounds the JSON header (the safetensors library uses
// the same 100 MB limit).
const MaxSafetensorsHeader = 100 << 20

// maxElements bounds a single tensor (2^40 elements: far above any encoder).
const maxElements = int64(1) << 40

// SafetensorsHeader is the parsed, validated header of a safetensors file.
type SafetensorsHeader struct {
	Metadata map[string]string
	// Entries, sorted by name.
	Entries []SafetensorsEntry
	// DataStart is the file offset of the data section (8 + header length).
	DataStart int64
}

// SafetensorsEntry is one tensor of a safetensors header; Begin and End are
// byte offsets relative to the data section.
type SafetensorsEntry struct {
	TensorInfo
	Begin, End int64
}

// ParseSafetensorsHeader parses and validates a header: header is the JSON
// text (after the 8-byte length), dataSize the number of bytes that follow it
// in the file. Every entry must have a known dtype, a non-negative shape,
// data_offsets matching the shape's byte size and lying inside the data
// section, and no two entries may overlap.
func ParseSafetensorsHeader(header []byte, dataSize int64) (*SafetensorsHeader, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		return nil, fmt.Errorf("header is not a JSON object: %w", err)
	}
	h := &SafetensorsHeader{}
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &h.Metadata); err != nil {
				return nil, fmt.Errorf("__metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		var e struct {
			DType   *string  `json:"dtype"`
			Shape   *[]int64 `json:"shape"`
			Offsets *[]int64 `json:"data_offsets"`
		}
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("tensor %q: bad entry: %w", name, err)
		}
		if e.DType == nil || e.Shape == nil || e.Offsets == nil {
			return nil, fmt.Errorf("tensor %q: entry needs dtype, shape and data_offsets", name)
		}
		dt := DType(*e.DType)
		if dt.Size() == 0 {
			return nil, fmt.Errorf("tensor %q: unsupported dtype %q (want F32, F16, BF16, F64, I64, I32, I16, I8, U8 or BOOL)", name, *e.DType)
		}
		shape := make([]int, len(*e.Shape))
		for i, d := range *e.Shape {
			if d < 0 || d > maxElements {
				return nil, fmt.Errorf("tensor %q: bad dimension %d in shape %v", name, d, *e.Shape)
			}
			shape[i] = int(d)
		}
		n, err := checkedNumElements(shape, maxElements)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		if len(*e.Offsets) != 2 {
			return nil, fmt.Errorf("tensor %q: data_offsets must be [begin, end], got %v", name, *e.Offsets)
		}
		b, end := (*e.Offsets)[0], (*e.Offsets)[1]
		if b < 0 || end < b {
			return nil, fmt.Errorf("tensor %q: bad data_offsets [%d, %d]", name, b, end)
		}
		if end > dataSize {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] run past the end of the data (%d bytes): file truncated?", name, b, end, dataSize)
		}
		if want := n * int64(dt.Size()); end-b != want {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] hold %d bytes but %s %v needs %d", name, b, end, end-b, dt, shape, want)
		}
		h.Entries = append(h.Entries, SafetensorsEntry{TensorInfo: TensorInfo{Name: name, DType: dt, Shape: shape}, Begin: b, End: end})
	}
	byOffset := make([]SafetensorsEntry, len(h.Entries))
	copy(byOffset, h.Entries)
	sort.Slice(byOffset, func(i, j int) bool {
		if byOffset[i].Begin != byOffset[j].Begin {
			return byOffset[i].Begin < byOffset[j].Begin
		}
		return byOffset[i].End < byOffset[j].End
	})
	for i := 1; i < len(byOffset); i++ {
		p, c := byOffset[i-1], byOffset[i]
		if c.Begin < p.End {
			return nil, fmt.Errorf("tensors %q [%d, %d] and %q [%d, %d] overlap", p.Name, p.Begin, p.End, c.Name, c.Begin, c.End)
		}
	}
	sort.Slice(h.Entries, func(i, j int) bool { return h.Entries[i].Name < h.Entries[j].Name })
	return h, nil
}

// Safetensors is an open model.safetensors file. Tensors are read on demand
// with ReadAt, so extra memory is bounded by one tensor plus a small buffer.
type Safetensors struct {
	path   string
	r      io.ReaderAt
	c      io.Closer
	header *SafetensorsHeader
	index  map[string]int
}

var _ Source = (*Safetensors)(nil)

// OpenSafetensors opens and validates a safetensors file.
func OpenSafetensors(path string) (*Safetensors, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	h, err := readSafetensorsHeader(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return newSafetensors(path, f, f, h), nil
}

// ReadSafetensors reads a safetensors image from r (size bytes), e.g. an
// in-memory file; name is used in errors.
func ReadSafetensors(name string, r io.ReaderAt, size int64) (*Safetensors, error) {
	h, err := readSafetensorsHeader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return newSafetensors(name, r, nil, h), nil
}

func newSafetensors(path string, r io.ReaderAt, c io.Closer, h *SafetensorsHeader) *Safetensors {
	s := &Safetensors{path: path, r: r, c: c, header: h, index: make(map[string]int, len(h.Entries))}
	for i, e := range h.Entries {
		s.index[e.Name] = i
	}
	return s
}

func readSafetensorsHeader(r io.ReaderAt, size int64) (*SafetensorsHeader, error) {
	if size < 8 {
		return nil, fmt.Errorf("not a safetensors file: %d bytes, shorter than the 8-byte header length", size)
	}
	var lb [8]byte
	if _, err := r.ReadAt(lb[:], 0); err != nil {
		return nil, fmt.Errorf("read header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lb[:])
	if n > MaxSafetensorsHeader {
		return nil, fmt.Errorf("not a safetensors file: header length %d exceeds the %d-byte limit", n, MaxSafetensorsHeader)
	}
	if int64(n) > size-8 {
		return nil, fmt.Errorf("header length %d runs past the end of the file (%d bytes): truncated or not a safetensors file", n, size)
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, 8); err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	h, err := ParseSafetensorsHeader(buf, size-8-int64(n))
	if err != nil {
		return nil, err
	}
	h.DataStart = 8 + int64(n)
	return h, nil
}

// Path implements Source.
func (s *Safetensors) Path() string { return s.path }

// Format implements Source.
func (s *Safetensors) Format() string { return "safetensors" }

// Metadata returns the __metadata__ map (may be nil).
func (s *Safetensors) Metadata() map[string]string { return s.header.Metadata }

// Tensors implements Source.
func (s *Safetensors) Tensors() []TensorInfo {
	out := make([]TensorInfo, len(s.header.Entries))
	for i, e := range s.header.Entries {
		out[i] = e.TensorInfo
	}
	return out
}

// Info implements Source.
func (s *Safetensors) Info(name string) (TensorInfo, bool) {
	i, ok := s.index[name]
	if !ok {
		return TensorInfo{}, false
	}
	return s.header.Entries[i].TensorInfo, true
}

// Load implements Source.
func (s *Safetensors) Load(name string) (*Tensor, error) {
	i, ok := s.index[name]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", s.path, name)
	}
	e := s.header.Entries[i]
	n := e.NumElements()
	t := &Tensor{Name: name, Shape: append([]int(nil), e.Shape...), Data: make([]float32, n)}
	if err := readConverted(s.r, s.header.DataStart+e.Begin, t.Data, e.DType); err != nil {
		return nil, fmt.Errorf("%s: tensor %q: %w", s.path, name, err)
	}
	return t, nil
}

// readConverted reads len(dst) elements of type d at off, in chunks.
func readConverted(r io.ReaderAt, off int64, dst []float32, d DType) error {
	const chunk = 1 << 16 // elements
	es := d.Size()
	buf := make([]byte, min(len(dst), chunk)*es)
	for done := 0; done < len(dst); {
		k := min(len(dst)-done, chunk)
		b := buf[:k*es]
		if _, err := r.ReadAt(b, off+int64(done*es)); err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("file truncated: %w", io.ErrUnexpectedEOF)
			}
			return err
		}
		decodeInto(dst[done:done+k], b, d)
		done += k
	}
	return nil
}

// Close implements Source.
func (s *Safetensors) Close() error {
	if s.c == nil {
		return nil
	}
	return s.c.Close()
}

// WriteSafetensors writes tensors to path atomically in the safetensors
// format, converting float32 data to dtype (F32, F16, BF16 or F64, rounding to
// nearest even). Tensors are stored in name order; metadata may be nil.
func WriteSafetensors(path string, tensors []*Tensor, dtype DType, metadata map[string]string) error {
	if !dtype.IsFloat() {
		return fmt.Errorf("write %s: dtype %q is not a float type", path, dtype)
	}
	sorted := make([]*Tensor, len(tensors))
	copy(sorted, tensors)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	type entry struct {
		DType   DType   `json:"dtype"`
		Shape   []int   `json:"shape"`
		Offsets []int64 `json:"data_offsets"`
	}
	header := make(map[string]any, len(sorted)+1)
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off int64
	for i, t := range sorted {
		if t.Name == "__metadata__" || t.Name == "" {
			return fmt.Errorf("write %s: invalid tensor name %q", path, t.Name)
		}
		if i > 0 && sorted[i-1].Name == t.Name {
			return fmt.Errorf("write %s: duplicate tensor %q", path, t.Name)
		}
		n, err := checkedNumElements(t.Shape, maxElements)
		if err != nil || n != int64(len(t.Data)) {
			return fmt.Errorf("write %s: tensor %q has shape %v but %d values", path, t.Name, t.Shape, len(t.Data))
		}
		shape := append([]int{}, t.Shape...)
		size := n * int64(dtype.Size())
		header[t.Name] = entry{DType: dtype, Shape: shape, Offsets: []int64{off, off + size}}
		off += size
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	for len(hb)%8 != 0 {
		hb = append(hb, ' ')
	}
	return fileio.WriteAtomic(path, func(w io.Writer) error {
		var lb [8]byte
		binary.LittleEndian.PutUint64(lb[:], uint64(len(hb)))
		if _, err := w.Write(lb[:]); err != nil {
			return err
		}
		if _, err := w.Write(hb); err != nil {
			return err
		}
		const chunk = 1 << 16
		buf := make([]byte, chunk*dtype.Size())
		for _, t := range sorted {
			for done := 0; done < len(t.Data); {
				k := min(len(t.Data)-done, chunk)
				b := buf[:k*dtype.Size()]
				encodeFrom(b, t.Data[done:done+k], dtype)
				if _, err := w.Write(b); err != nil {
					return err
				}
				done += k
			}
		}
		return nil
	})
}
