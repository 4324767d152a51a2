package hf

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzSafetensorsHeader feeds arbitrary images to the safetensors reader: it
// must return an error or tensors that load, never panic or over-allocate.
func FuzzSafetensorsHeader(f *testing.F) {
	// Seeds are kept small (large ones make minimisation stall the fuzzer);
	// testdata/fuzz/FuzzSafetensorsHeader holds more.
	f.Add(stImage(`{"__metadata__":{"format":"pt"},"a":{"dtype":"BF16","shape":[2,1],"data_offsets":[0,4]},"b":{"dtype":"I64","shape":[],"data_offsets":[4,12]}}`, 12))
	f.Add(stImage(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8))
	f.Fuzz(func(t *testing.T, img []byte) {
		s, err := ReadSafetensors("fuzz", bytes.NewReader(img), int64(len(img)))
		if err != nil {
			return
		}
		for _, ti := range s.Tensors() {
			x, err := s.Load(ti.Name)
			if err != nil {
				t.Fatalf("validated tensor %q fails to load: %v", ti.Name, err)
			}
			if len(x.Data) != ti.NumElements() {
				t.Fatalf("%q: %d values for shape %v", ti.Name, len(x.Data), ti.Shape)
			}
		}
	})
}

// FuzzPickle runs the pickle VM on arbitrary data with a persistent-id loader
// like the archive's (storages of at most 64 elements), then validates views.
func FuzzPickle(f *testing.F) {
	for _, p := range []string{"special.bin", "bert-bf16/pytorch_model.bin"} {
		if pkl, err := pickleOf(filepath.Join("testdata", p)); err == nil {
			f.Add(pkl)
		}
	}
	f.Add(tensorPickle("FloatStorage", 6, 1, []byte{2, 2}, []byte{1, 2}))
	f.Add([]byte("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94]\x94(K\x01\x8a\x02\xff\x7fe\x88N)\x94G?\xf0\x00\x00\x00\x00\x00\x00u."))
	f.Fuzz(func(t *testing.T, data []byte) {
		persLoad := func(pid any) (any, error) {
			tu, ok := pid.(pyTuple)
			if !ok || len(tu) != 5 {
				return nil, io.ErrUnexpectedEOF
			}
			st, ok1 := tu[1].(pyStorageType)
			key, ok2 := tu[2].(string)
			n, ok3 := tu[4].(int64)
			if !ok1 || !ok2 || !ok3 || n < 0 || n > 64 {
				return nil, io.ErrUnexpectedEOF
			}
			return &pyStorage{key: key, dtype: st.dtype, numel: n}, nil
		}
		v, err := unpickle(data, persLoad)
		if err != nil {
			return
		}
		d, ok := v.(*pyDict)
		if !ok {
			return
		}
		for _, x := range d.values {
			if tt, ok := x.(*pyTensor); ok {
				_ = checkView(tt)
			}
		}
	})
}

func pickleOf(path string) ([]byte, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	for _, f := range zr.File {
		if filepath.Base(f.Name) == "data.pkl" {
			rc, err := f.Open()
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			return io.ReadAll(rc)
		}
	}
	return nil, os.ErrNotExist
}
