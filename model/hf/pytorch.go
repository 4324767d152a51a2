package hf

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// legacyMagic starts files written by torch.save before 1.6 (or with
// _use_new_zipfile_serialization=False): a protocol-2 pickle of the magic
// number 0x1950a86a20f9469cfc6c.
var legacyMagic = []byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}

// maxPickleSize bounds data.pkl (a state dict's pickle is a few hundred KB).
const maxPickleSize = 256 << 20

// maxDims bounds the rank of a tensor.
const maxDims = 64

// PyTorch is an open pytorch_model.bin in torch.save's zip format. The
// pickled state dict is decoded when opening; tensor data is read on demand
// from the archive's storages, one tensor at a time.
type PyTorch struct {
	path    string
	f       *os.File
	zr      *zip.Reader
	entries map[string]*zip.File // storage key → archive entry
	tensors map[string]*pyTensor
	infos   []TensorInfo
}

var _ Source = (*PyTorch)(nil)

// OpenPyTorch opens a torch.save zip archive holding a flat state dict
// (name → tensor). Tensors may be views (storage offsets, any non-negative
// strides; non-contiguous ones are materialised) of float32, float16,
// bfloat16, float64 or integer/bool storages.
func OpenPyTorch(path string) (*PyTorch, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	p, err := openPyTorch(path, f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

func openPyTorch(path string, f *os.File) (*PyTorch, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	head := make([]byte, len(legacyMagic))
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	if bytes.Equal(head, legacyMagic) {
		return nil, errors.New("legacy (pre-1.6, non-zip) torch.save format is not supported: re-save it with torch.save(state_dict, path) from torch >= 1.6, or convert it to model.safetensors")
	}
	if !bytes.HasPrefix(head, []byte("PK")) {
		return nil, errors.New("not a PyTorch zip archive (torch.save >= 1.6 format)")
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, fmt.Errorf("not a readable zip archive (truncated or corrupt?): %w", err)
	}
	var pkl *zip.File
	prefix := ""
	files := map[string]*zip.File{}
	for _, zf := range zr.File {
		files[zf.Name] = zf
		dir, base, ok := strings.Cut(zf.Name, "/")
		if ok && base == "data.pkl" {
			if pkl != nil {
				return nil, fmt.Errorf("archive holds two pickles (%s and %s)", pkl.Name, zf.Name)
			}
			pkl, prefix = zf, dir+"/"
		}
	}
	if pkl == nil {
		return nil, errors.New("archive has no <name>/data.pkl: not a torch.save file")
	}
	if bo, ok := files[prefix+"byteorder"]; ok {
		b, err := readSmall(bo, 16)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", bo.Name, err)
		}
		if s := strings.TrimSpace(string(b)); s != "little" {
			return nil, fmt.Errorf("byte order %q is not supported (only little-endian)", s)
		}
	}
	data, err := readSmall(pkl, maxPickleSize)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", pkl.Name, err)
	}
	p := &PyTorch{path: path, f: f, zr: zr, entries: map[string]*zip.File{}, tensors: map[string]*pyTensor{}}
	storages := map[string]*pyStorage{}
	persLoad := func(pid any) (any, error) {
		t, ok := pid.(pyTuple)
		if !ok || len(t) != 5 || t[0] != "storage" {
			return nil, fmt.Errorf("persistent id %v is not ('storage', type, key, location, numel)", pid)
		}
		stype, ok1 := t[1].(pyStorageType)
		key, ok2 := t[2].(string)
		numel, ok3 := t[4].(int64)
		if !ok1 || !ok2 || !ok3 || numel < 0 {
			return nil, fmt.Errorf("bad storage persistent id %v", pid)
		}
		if s, ok := storages[key]; ok {
			if s.dtype != stype.dtype || s.numel != numel {
				return nil, fmt.Errorf("storage %q is declared twice with different types or sizes", key)
			}
			return s, nil
		}
		zf, ok := files[prefix+"data/"+key]
		if !ok {
			return nil, fmt.Errorf("storage %q: archive has no %sdata/%s", key, prefix, key)
		}
		if int64(zf.UncompressedSize64) != numel*int64(stype.dtype.Size()) || numel > maxElements {
			return nil, fmt.Errorf("storage %q: %d %s elements declared but the archive entry holds %d bytes", key, numel, stype.dtype, zf.UncompressedSize64)
		}
		s := &pyStorage{key: key, dtype: stype.dtype, numel: numel}
		storages[key] = s
		p.entries[key] = zf
		return s, nil
	}
	v, err := unpickle(data, persLoad)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	d, ok := v.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T, not a state dict", pkl.Name, v)
	}
	for i, k := range d.keys {
		name, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("state dict key %v is not a string", k)
		}
		t, ok := d.values[i].(*pyTensor)
		if !ok {
			return nil, fmt.Errorf("state dict entry %q is a %T, not a tensor (nested checkpoints are not supported: save model.state_dict())", name, d.values[i])
		}
		if err := checkView(t); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		p.tensors[name] = t
		p.infos = append(p.infos, TensorInfo{Name: name, DType: t.storage.dtype, Shape: t.shape})
	}
	sort.Slice(p.infos, func(i, j int) bool { return p.infos[i].Name < p.infos[j].Name })
	return p, nil
}

// checkView verifies that every element of the view lies inside its storage.
func checkView(t *pyTensor) error {
	if len(t.shape) > maxDims {
		return fmt.Errorf("%d dimensions (at most %d)", len(t.shape), maxDims)
	}
	n, err := checkedNumElements(t.shape, maxElements)
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	last := t.offset
	if last >= t.storage.numel {
		return fmt.Errorf("storage offset %d beyond storage %q of %d elements", t.offset, t.storage.key, t.storage.numel)
	}
	for i, d := range t.shape {
		if d > 1 && t.stride[i] > 0 {
			if int64(d-1) > (t.storage.numel-1)/t.stride[i] {
				return fmt.Errorf("size %v with stride %v reaches beyond storage %q of %d elements", t.shape, t.stride, t.storage.key, t.storage.numel)
			}
			last += int64(d-1) * t.stride[i]
			if last >= t.storage.numel {
				return fmt.Errorf("view (offset %d, size %v, stride %v) reaches beyond storage %q of %d elements", t.offset, t.shape, t.stride, t.storage.key, t.storage.numel)
			}
		}
	}
	return nil
}

func readSmall(zf *zip.File, limit int64) ([]byte, error) {
	if zf.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%d bytes exceeds the %d-byte limit", zf.UncompressedSize64, limit)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("truncated or corrupt archive entry: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than %d bytes", limit)
	}
	return b, nil
}

// Path implements Source.
func (p *PyTorch) Path() string { return p.path }

// Format implements Source.
func (p *PyTorch) Format() string { return "pytorch" }

// Tensors implements Source.
func (p *PyTorch) Tensors() []TensorInfo {
	out := make([]TensorInfo, len(p.infos))
	copy(out, p.infos)
	return out
}

// Info implements Source.
func (p *PyTorch) Info(name string) (TensorInfo, bool) {
	t, ok := p.tensors[name]
	if !ok {
		return TensorInfo{}, false
	}
	return TensorInfo{Name: name, DType: t.storage.dtype, Shape: t.shape}, true
}

// Load implements Source.
func (p *PyTorch) Load(name string) (*Tensor, error) {
	t, ok := p.tensors[name]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", p.path, name)
	}
	out, err := p.load(t)
	if err != nil {
		return nil, fmt.Errorf("%s: tensor %q: %w", p.path, name, err)
	}
	out.Name = name
	return out, nil
}

func (p *PyTorch) load(t *pyTensor) (*Tensor, error) {
	n := numElements(t.shape)
	out := &Tensor{Shape: append([]int(nil), t.shape...), Data: make([]float32, n)}
	if n == 0 {
		return out, nil
	}
	// Span of storage elements the view touches.
	span := int64(1)
	contiguous := true
	want := int64(1)
	for i := len(t.shape) - 1; i >= 0; i-- {
		if t.shape[i] > 1 {
			span += int64(t.shape[i]-1) * t.stride[i]
			if t.stride[i] != want {
				contiguous = false
			}
		}
		want *= int64(t.shape[i])
	}
	zf := p.entries[t.storage.key]
	if contiguous {
		return out, p.readStorage(zf, t.storage.dtype, t.offset, out.Data)
	}
	buf := make([]float32, span)
	if err := p.readStorage(zf, t.storage.dtype, t.offset, buf); err != nil {
		return nil, err
	}
	idx := make([]int, len(t.shape))
	var off int64
	for i := range out.Data {
		out.Data[i] = buf[off]
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			off += t.stride[d]
			if idx[d] < t.shape[d] {
				break
			}
			off -= int64(idx[d]) * t.stride[d]
			idx[d] = 0
		}
	}
	return out, nil
}

// readStorage reads len(dst) elements starting at element off of a storage.
func (p *PyTorch) readStorage(zf *zip.File, dt DType, off int64, dst []float32) error {
	es := int64(dt.Size())
	if zf.Method == zip.Store {
		start, err := zf.DataOffset()
		if err != nil {
			return fmt.Errorf("storage %s: truncated or corrupt archive: %w", zf.Name, err)
		}
		if err := readConverted(p.f, start+off*es, dst, dt); err != nil {
			return fmt.Errorf("storage %s: %w", zf.Name, err)
		}
		return nil
	}
	// Compressed entry (torch never writes these): stream up to the data.
	rc, err := zf.Open()
	if err != nil {
		return fmt.Errorf("storage %s: %w", zf.Name, err)
	}
	defer rc.Close()
	if _, err := io.CopyN(io.Discard, rc, off*es); err != nil {
		return fmt.Errorf("storage %s: truncated or corrupt: %w", zf.Name, err)
	}
	b := make([]byte, int64(len(dst))*es)
	if _, err := io.ReadFull(rc, b); err != nil {
		return fmt.Errorf("storage %s: truncated or corrupt: %w", zf.Name, err)
	}
	decodeInto(dst, b, dt)
	return nil
}

// Close implements Source.
func (p *PyTorch) Close() error { return p.f.Close() }
