package train

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Checkpoint layout: a run directory holds
//
//	ckpt-epoch-NNN/      one per completed epoch (NNN = epochs done, 3+ digits)
//	  state.json         counters, RNG state, best metric, config hash, parameter list
//	  weights.bin        every parameter's float32 values, little-endian, in model order
//	  moments.bin        AdamW first moments of every parameter, then second moments
//	  MANIFEST.json      size and SHA-256 of the three files above, written last
//	best -> ckpt-epoch-NNN   symlink to the best checkpoint (kept by retention)
//	train.jsonl          one line per epoch
//
// A checkpoint is built in a ".tmp-ckpt-*" directory, every file and the
// directory fsynced, and renamed into place, so a kill leaves either a
// complete checkpoint or a temp directory that readers ignore.
const (
	ckptPrefix   = "ckpt-epoch-"
	tmpPrefix    = ".tmp-ckpt-"
	manifestFile = "MANIFEST.json"
	stateFile    = "state.json"
	weightsFile  = "weights.bin"
	momentsFile  = "moments.bin"
	bestLink     = "best"
	stateVersion = 1
)

var ckptName = regexp.MustCompile(`^ckpt-epoch-([0-9]{3,})$`)

// paramInfo records a parameter's identity, checked on load.
type paramInfo struct {
	Name       string `json:"name"`
	Rows, Cols int
}

// state is everything besides the float arrays that resume needs.
type state struct {
	Version    int         `json:"version"`
	ConfigHash string      `json:"config_hash"`
	Params     []paramInfo `json:"params"`
	Epoch      int         `json:"epoch"` // completed epochs
	Step       int64       `json:"step"`  // completed optimizer updates
	RNG        []byte      `json:"rng"`   // dropout PCG, MarshalBinary
	HasBest    bool        `json:"has_best"`
	Best       float64     `json:"best"`
	BestEpoch  int         `json:"best_epoch"`
	BadEpochs  int         `json:"bad_epochs"`
	Stopped    bool        `json:"stopped"`
	AdamSteps  []int64     `json:"adam_steps"`
}

type manifest struct {
	Files []manifestEntry `json:"files"`
}

type manifestEntry struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// CheckpointName is the directory name of the checkpoint after epoch.
func CheckpointName(epoch int) string { return fmt.Sprintf("%s%03d", ckptPrefix, epoch) }

// Checkpoints lists the complete checkpoint directories of a run by epoch,
// oldest first; temp directories of interrupted writes are not listed.
func Checkpoints(runDir string) ([]int, error) {
	ents, err := os.ReadDir(runDir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("train: list checkpoints: %w", err)
	}
	var epochs []int
	for _, e := range ents {
		m := ckptName.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		n, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		epochs = append(epochs, n)
	}
	slices.Sort(epochs)
	return epochs, nil
}

// LatestCheckpoint returns the path of the newest complete checkpoint, or ""
// when the run has none.
func LatestCheckpoint(runDir string) (string, error) {
	eps, err := Checkpoints(runDir)
	if err != nil || len(eps) == 0 {
		return "", err
	}
	return filepath.Join(runDir, CheckpointName(eps[len(eps)-1])), nil
}

// writeCheckpoint writes st and the float arrays to runDir/ckpt-epoch-NNN
// atomically.
func writeCheckpoint(runDir string, st *state, params []Param, opt *AdamW) error {
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	tmp, err := os.MkdirTemp(runDir, tmpPrefix)
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	var man manifest
	add := func(name string, fill func(w io.Writer) error) error {
		e, err := writeFile(filepath.Join(tmp, name), fill)
		if err != nil {
			return err
		}
		e.Name = name
		man.Files = append(man.Files, e)
		return nil
	}
	if err := add(stateFile, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(st)
	}); err != nil {
		return err
	}
	if err := add(weightsFile, func(w io.Writer) error {
		for _, p := range params {
			v, err := values(p)
			if err != nil {
				return err
			}
			if err := writeF32(w, v); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := add(momentsFile, func(w io.Writer) error {
		for _, ms := range [][][]float32{opt.M, opt.V} {
			for _, m := range ms {
				if err := writeF32(w, m); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if _, err := writeFile(filepath.Join(tmp, manifestFile), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(&man)
	}); err != nil {
		return err
	}
	if err := syncDir(tmp); err != nil {
		return err
	}
	final := filepath.Join(runDir, CheckpointName(st.Epoch))
	// A checkpoint of this epoch exists when a run is resumed from an older
	// one; move it aside first because rename does not replace a non-empty
	// directory, and only delete it once the new one is in place.
	var old string
	if _, err := os.Stat(final); err == nil {
		old = tmp + "-old"
		if err := os.Rename(final, old); err != nil {
			return fmt.Errorf("train: checkpoint: %w", err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	done = true
	if old != "" {
		os.RemoveAll(old)
	}
	return syncDir(runDir)
}

// writeFile writes and fsyncs one file, returning its size and checksum.
func writeFile(path string, fill func(w io.Writer) error) (manifestEntry, error) {
	f, err := os.Create(path)
	if err != nil {
		return manifestEntry{}, fmt.Errorf("train: checkpoint: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	bw := bufio.NewWriterSize(cw, 1<<20)
	if err := fill(bw); err != nil {
		return manifestEntry{}, fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return manifestEntry{}, fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return manifestEntry{}, fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return manifestEntry{}, fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	return manifestEntry{Size: cw.n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func writeF32(w io.Writer, v []float32) error {
	var buf [4]byte
	for _, x := range v {
		binary.LittleEndian.PutUint32(buf[:], math.Float32bits(x))
		if _, err := w.Write(buf[:]); err != nil {
			return err
		}
	}
	return nil
}

func readF32(r io.Reader, v []float32) error {
	var buf [4]byte
	for i := range v {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return err
		}
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[:]))
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("train: checkpoint: sync %s: %w", dir, err)
	}
	return nil
}

// verifyCheckpoint checks every file named by the manifest against its size
// and SHA-256 and returns the files' contents, so that what is parsed is
// exactly what was verified.
func verifyCheckpoint(dir string) (map[string][]byte, error) {
	raw, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		return nil, fmt.Errorf("train: checkpoint %s: incomplete (no manifest): %w", dir, err)
	}
	var man manifest
	if err := json.Unmarshal(raw, &man); err != nil {
		return nil, fmt.Errorf("train: checkpoint %s: corrupt %s: %w", dir, manifestFile, err)
	}
	files := map[string][]byte{}
	for _, e := range man.Files {
		if e.Name != filepath.Base(e.Name) || strings.HasPrefix(e.Name, ".") {
			return nil, fmt.Errorf("train: checkpoint %s: bad file name %q in manifest", dir, e.Name)
		}
		path := filepath.Join(dir, e.Name)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("train: checkpoint file %s: %w", path, err)
		}
		if int64(len(data)) != e.Size {
			return nil, fmt.Errorf("train: checkpoint file %s: size %d, manifest says %d (truncated or damaged)", path, len(data), e.Size)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != e.SHA256 {
			return nil, fmt.Errorf("train: checkpoint file %s: SHA-256 checksum mismatch (damaged)", path)
		}
		files[e.Name] = data
	}
	for _, name := range []string{stateFile, weightsFile, momentsFile} {
		if _, ok := files[name]; !ok {
			return nil, fmt.Errorf("train: checkpoint %s: manifest lacks %s", dir, name)
		}
	}
	return files, nil
}

// readCheckpoint verifies dir and decodes its state, checking it against the
// current configuration hash and parameter list. The float arrays are
// returned decoded but not yet installed, so that a failure leaves the model
// untouched.
func readCheckpoint(dir, hash string, params []Param) (*state, [][]float32, [][]float32, [][]float32, error) {
	files, err := verifyCheckpoint(dir)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	var st state
	if err := json.Unmarshal(files[stateFile], &st); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("train: checkpoint %s: %s: %w", dir, stateFile, err)
	}
	if st.Version != stateVersion {
		return nil, nil, nil, nil, fmt.Errorf("train: checkpoint %s: version %d, this build reads %d", dir, st.Version, stateVersion)
	}
	if err := sameParams(st.Params, paramInfos(params)); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("train: checkpoint %s does not fit the model: %w", dir, err)
	}
	if st.ConfigHash != hash {
		return nil, nil, nil, nil, fmt.Errorf("train: checkpoint %s was written with another training configuration (hash %.12s, current %.12s): resume needs the same settings and data size", dir, st.ConfigHash, hash)
	}
	if len(st.AdamSteps) != len(params) {
		return nil, nil, nil, nil, fmt.Errorf("train: checkpoint %s: %d optimizer step counts for %d parameters", dir, len(st.AdamSteps), len(params))
	}
	alloc := func() [][]float32 {
		out := make([][]float32, len(params))
		for i, p := range params {
			out[i] = make([]float32, p.P.Size())
		}
		return out
	}
	w, m, v := alloc(), alloc(), alloc()
	total := int64(0)
	for _, p := range params {
		total += int64(p.P.Size()) * 4
	}
	if int64(len(files[weightsFile])) != total || int64(len(files[momentsFile])) != 2*total {
		return nil, nil, nil, nil, fmt.Errorf("train: checkpoint %s: weights %d bytes and moments %d bytes, the model needs %d and %d", dir, len(files[weightsFile]), len(files[momentsFile]), total, 2*total)
	}
	wr := bytes.NewReader(files[weightsFile])
	mr := bytes.NewReader(files[momentsFile])
	for i := range params {
		if err := readF32(wr, w[i]); err != nil {
			return nil, nil, nil, nil, fmt.Errorf("train: checkpoint %s: %s: %w", dir, weightsFile, err)
		}
	}
	for _, dst := range [][][]float32{m, v} {
		for i := range params {
			if err := readF32(mr, dst[i]); err != nil {
				return nil, nil, nil, nil, fmt.Errorf("train: checkpoint %s: %s: %w", dir, momentsFile, err)
			}
		}
	}
	return &st, w, m, v, nil
}

func paramInfos(params []Param) []paramInfo {
	out := make([]paramInfo, len(params))
	for i, p := range params {
		out[i] = paramInfo{Name: p.Name, Rows: p.P.Shape()[0], Cols: p.P.Shape()[1]}
	}
	return out
}

// sameParams explains the first difference between two parameter lists.
func sameParams(saved, cur []paramInfo) error {
	if len(saved) != len(cur) {
		return fmt.Errorf("checkpoint has %d parameters, model has %d", len(saved), len(cur))
	}
	for i := range saved {
		if saved[i] != cur[i] {
			return fmt.Errorf("parameter %d is %s (%d×%d) in the checkpoint, %s (%d×%d) in the model",
				i, saved[i].Name, saved[i].Rows, saved[i].Cols, cur[i].Name, cur[i].Rows, cur[i].Cols)
		}
	}
	return nil
}

// retain removes checkpoints other than the last keep (keep ≤ 0: all) and
// the best, points the best symlink at the best, and removes temp
// directories of interrupted writes.
func retain(runDir string, keep, best int) error {
	eps, err := Checkpoints(runDir)
	if err != nil {
		return err
	}
	if best > 0 && slices.Contains(eps, best) {
		link := filepath.Join(runDir, bestLink)
		tmp := filepath.Join(runDir, ".tmp-best")
		os.Remove(tmp)
		if err := os.Symlink(CheckpointName(best), tmp); err != nil {
			return fmt.Errorf("train: best link: %w", err)
		}
		// rename replaces the old link atomically: no moment without one.
		if err := os.Rename(tmp, link); err != nil {
			return fmt.Errorf("train: best link: %w", err)
		}
	}
	if keep > 0 {
		for i, e := range eps {
			if i < len(eps)-keep && e != best {
				if err := os.RemoveAll(filepath.Join(runDir, CheckpointName(e))); err != nil {
					return fmt.Errorf("train: retention: %w", err)
				}
			}
		}
	}
	return syncDir(runDir)
}

// removeTemps deletes leftovers of interrupted checkpoint writes.
func removeTemps(runDir string) {
	ents, err := os.ReadDir(runDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			os.RemoveAll(filepath.Join(runDir, e.Name()))
		}
	}
}
