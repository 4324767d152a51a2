package hf

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stImage builds a safetensors image from a header text and n data bytes.
func stImage(header string, n int) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(make([]byte, n))
	return b.Bytes()
}

func TestSafetensorsCorrupt(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "bert", SafetensorsFile))
	if err != nil {
		t.Fatal(err)
	}
	huge := append([]byte{}, good...)
	binary.LittleEndian.PutUint64(huge, 1<<40)
	past := append([]byte{}, good...)
	binary.LittleEndian.PutUint64(past, uint64(len(good)))
	for _, tc := range []struct {
		name string
		img  []byte
		want string
	}{
		{"empty", nil, "shorter than the 8-byte header length"},
		{"huge header length", huge, "exceeds the"},
		{"header past end", past, "runs past the end of the file"},
		{"truncated data", good[:len(good)-10], "run past the end of the data"},
		{"not json", stImage("xxxxxxxx", 0), "header is not a JSON object"},
		{"array header", stImage("[1,2]", 0), "header is not a JSON object"},
		{"bad dtype", stImage(`{"a":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}}`, 1), `unsupported dtype "Q8"`},
		{"size mismatch", stImage(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 8), "hold 4 bytes but F32 [2] needs 8"},
		{"negative dim", stImage(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, 8), "bad dimension"},
		{"reversed offsets", stImage(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, 8), "bad data_offsets"},
		{"offsets past end", stImage(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 8), "run past the end of the data (8 bytes)"},
		{"overlap", stImage(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), "overlap"},
		{"missing field", stImage(`{"a":{"dtype":"F32","shape":[2]}}`, 8), "needs dtype, shape and data_offsets"},
		{"unknown field", stImage(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, 8), "bad entry"},
		{"bad metadata", stImage(`{"__metadata__":{"a":1}}`, 0), "__metadata__ must map strings to strings"},
		{"overflow shape", stImage(`{"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}}`, 8), "more than"},
	} {
		_, err := ReadSafetensors(tc.name, bytes.NewReader(tc.img), int64(len(tc.img)))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	// A valid header may leave holes and hold zero-size tensors.
	img := stImage(`{"a":{"dtype":"F16","shape":[1],"data_offsets":[4,6]},"e":{"dtype":"F32","shape":[0,2],"data_offsets":[6,6]}}`, 8)
	s, err := ReadSafetensors("ok", bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	if x, err := s.Load("e"); err != nil || len(x.Data) != 0 {
		t.Errorf("empty tensor: %v %v", x, err)
	}
	if _, err := s.Load("nope"); err == nil || !strings.Contains(err.Error(), `no tensor "nope"`) {
		t.Errorf("missing tensor error %v", err)
	}
}

// torchZip builds a torch.save-like archive with the given pickle and storages.
func torchZip(t testing.TB, pkl []byte, storages map[string][]byte) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	add := func(name string, data []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	add("archive/data.pkl", pkl)
	for k, v := range storages {
		add("archive/data/"+k, v)
	}
	add("archive/version", []byte("3\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// tensorPickle is a protocol-2 pickle of {name: tensor(storage "0", FloatStorage, numel)}
// with the given offset, size and stride (all < 256).
func tensorPickle(storageType string, numel, offset byte, size, stride []byte) []byte {
	var p bytes.Buffer
	p.WriteString("\x80\x02}(X\x01\x00\x00\x00w")
	p.WriteString("ctorch._utils\n_rebuild_tensor_v2\n(")
	p.WriteString("(X\x07\x00\x00\x00storagectorch\n" + storageType + "\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK" + string(numel) + "tQ")
	p.WriteString("K" + string(offset))
	p.WriteString("(")
	for _, s := range size {
		p.WriteString("K" + string(s))
	}
	p.WriteString("t(")
	for _, s := range stride {
		p.WriteString("K" + string(s))
	}
	p.WriteString("t\x89ccollections\nOrderedDict\n)RtRu.")
	return p.Bytes()
}

func writeTemp(t *testing.T, data []byte) string {
	p := filepath.Join(t.TempDir(), "pytorch_model.bin")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPyTorchCorrupt(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "bert", PyTorchFile))
	if err != nil {
		t.Fatal(err)
	}
	store := map[string][]byte{"0": make([]byte, 24)}
	// The hand-made pickle itself works.
	p, err := OpenPyTorch(writeTemp(t, torchZip(t, tensorPickle("FloatStorage", 6, 1, []byte{2, 2}, []byte{1, 2}), store)))
	if err != nil {
		t.Fatal(err)
	}
	if x, err := p.Load("w"); err != nil || len(x.Data) != 4 {
		t.Fatalf("hand-made pickle: %v %v", x, err)
	}
	p.Close()
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated zip", good[:len(good)/2], "not a readable zip archive (truncated or corrupt?)"},
		{"not a zip", []byte("hello world, not a checkpoint"), "not a PyTorch zip archive"},
		{"empty file", nil, "not a PyTorch zip archive"},
		{"unknown opcode", torchZip(t, []byte("\x80\x02}(X\x01\x00\x00\x00wI12\nu."), nil), "unsupported opcode 'I'"},
		{"disallowed global", torchZip(t, []byte("\x80\x02cos\nsystem\n(X\x02\x00\x00\x00lstR."), nil), "global os.system is not allowed"},
		{"disallowed stack global", torchZip(t, []byte("\x80\x04\x8c\x08builtins\x8c\x04eval\x93."), nil), "global builtins.eval is not allowed"},
		{"no stop", torchZip(t, []byte("\x80\x02}"), nil), "without STOP (truncated)"},
		{"setitems without mark", torchZip(t, []byte("\x80\x02u."), nil), "bad MARK"},
		{"stack underflow", torchZip(t, []byte("\x80\x02R."), nil), "stack underflow"},
		{"memo miss", torchZip(t, []byte("\x80\x02h\x05."), nil), "memo index 5 not set"},
		{"not a dict", torchZip(t, []byte("\x80\x02K\x01."), nil), "not a state dict"},
		{"non-tensor value", torchZip(t, []byte("\x80\x02}X\x01\x00\x00\x00aK\x01s."), nil), `entry "a" is a int64, not a tensor`},
		{"missing storage", torchZip(t, tensorPickle("FloatStorage", 6, 0, []byte{6}, []byte{1}), nil), "archive has no archive/data/0"},
		{"storage size", torchZip(t, tensorPickle("FloatStorage", 7, 0, []byte{6}, []byte{1}), store), "7 F32 elements declared but the archive entry holds 24 bytes"},
		{"view past storage", torchZip(t, tensorPickle("FloatStorage", 6, 2, []byte{5}, []byte{1}), store), "reaches beyond storage"},
		{"offset past storage", torchZip(t, tensorPickle("FloatStorage", 6, 6, []byte{1}, []byte{1}), store), "storage offset 6 beyond"},
		{"strided past storage", torchZip(t, tensorPickle("FloatStorage", 6, 0, []byte{3, 2}, []byte{2, 2}), store), "reaches beyond storage"},
		{"storage class", torchZip(t, tensorPickle("ComplexFloatStorage", 6, 0, []byte{6}, []byte{1}), store), "global torch.ComplexFloatStorage is not allowed"},
	} {
		_, err := OpenPyTorch(writeTemp(t, tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	// Storage data cut after opening: Load fails cleanly.
	img := torchZip(t, tensorPickle("FloatStorage", 6, 0, []byte{6}, []byte{1}), store)
	path := writeTemp(t, img)
	p, err = OpenPyTorch(path)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := os.Truncate(path, 40); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Load("w"); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("load from truncated file: %v", err)
	}
}
