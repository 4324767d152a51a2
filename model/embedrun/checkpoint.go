package embedrun

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"

	"github.com/icdcode/icdcode/data/fileio"
	"github.com/icdcode/icdcode/data/visits"
	"github.com/icdcode/icdcode/model/med2vec"
	"github.com/icdcode/icdcode/model/word2vec"
)

// Checkpoints of `embed med2vec|word2vec`: after every epoch the trainer's
// whole state goes to out_dir/checkpoints/<kind>-epoch-NNN.ckpt, one file
// laid out as
//
//	magic line "icdcode-embed-checkpoint/1\n"
//	gob payload: kind, config and data fingerprints, the model's State
//	SHA-256 of magic and payload (32 bytes)
//
// and written through data/fileio (temp file, fsync, rename), so a kill
// leaves either the complete file or none. The state holds the weights, the
// optimizer state (Med2Vec: Adadelta accumulators; Word2Vec: the position in
// its learning-rate decay), the epoch and the generator that orders the
// data, so that --resume continues bit for bit. The model/train checkpoints
// are directories of float32 arrays for AdamW runs; these are float64 and
// small, so one self-checking file is simpler and keeps resume exact.
const (
	CheckpointDir = "checkpoints"
	ckptMagic     = "icdcode-embed-checkpoint/1\n"
	// keepCheckpoints is how many of the newest checkpoints are kept: the
	// newest to resume from, and one before it should the newest be damaged
	// (resume names it; delete it to fall back).
	keepCheckpoints = 2
)

var ckptFile = regexp.MustCompile(`^(med2vec|word2vec)-epoch-([0-9]{3,})\.ckpt$`)

// checkpoint is the payload of a checkpoint file.
type checkpoint struct {
	Kind       string // "med2vec" or "word2vec"
	ConfigHash string // fingerprint of the settings that must not change on resume
	DataHash   string // fingerprint of the training patients
	Med2Vec    *med2vec.State
	Word2Vec   *word2vec.State
}

// CheckpointPath is the checkpoint of kind after epoch (completed epochs).
func CheckpointPath(outDir, kind string, epoch int) string {
	return filepath.Join(outDir, CheckpointDir, fmt.Sprintf("%s-epoch-%03d.ckpt", kind, epoch))
}

// checkpoints lists the epochs of kind's checkpoints in out_dir, oldest
// first; temp files of interrupted writes do not match the name.
func checkpoints(outDir, kind string) ([]int, error) {
	ents, err := os.ReadDir(filepath.Join(outDir, CheckpointDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	var out []int
	for _, e := range ents {
		m := ckptFile.FindStringSubmatch(e.Name())
		if m == nil || m[1] != kind || e.IsDir() {
			continue
		}
		n, err := strconv.Atoi(m[2])
		if err != nil {
			continue
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

// writeCheckpoint writes ck atomically to path.
func writeCheckpoint(path string, ck *checkpoint) error {
	var payload bytes.Buffer
	payload.WriteString(ckptMagic)
	if err := gob.NewEncoder(&payload).Encode(ck); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	sum := sha256.Sum256(payload.Bytes())
	return fileio.WriteAtomic(path, func(w io.Writer) error {
		if _, err := w.Write(payload.Bytes()); err != nil {
			return err
		}
		_, err := w.Write(sum[:])
		return err
	})
}

// readCheckpoint reads and verifies a checkpoint; every error names the file.
func readCheckpoint(path string) (*checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if len(b) < len(ckptMagic)+sha256.Size || string(b[:len(ckptMagic)]) != ckptMagic {
		return nil, fmt.Errorf("checkpoint %s: not an icdcode embedding checkpoint, or truncated (%d bytes)", path, len(b))
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("checkpoint %s: SHA-256 mismatch (file %s, computed %s): the file is corrupt; delete it to resume from an older checkpoint",
			path, hex.EncodeToString(sum), hex.EncodeToString(got[:]))
	}
	var ck checkpoint
	if err := gob.NewDecoder(bytes.NewReader(body[len(ckptMagic):])).Decode(&ck); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return &ck, nil
}

// fingerprint is the SHA-256 of v's JSON encoding.
func fingerprint(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}

// corpusHash fingerprints the patients a model trains on, in order.
func corpusHash(c *visits.Corpus) string {
	h := sha256.New()
	for _, p := range c.Patients {
		fmt.Fprintf(h, "%q:", p.ID)
		for _, v := range p.Visits {
			fmt.Fprintf(h, "%q;", v.Codes)
		}
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkpointer writes a run's per-epoch checkpoints and finds the one to
// resume from.
type checkpointer struct {
	outDir, kind         string
	configHash, dataHash string
	log                  io.Writer
	latest               string // the checkpoint start resumed from
}

// start returns the checkpoint to resume from (nil for a fresh run). As
// model/train does, a fresh run refuses to start over existing checkpoints
// of its kind unless fresh is set, which removes them (so that a later
// --resume cannot pick up an epoch of the earlier run); resume takes the
// newest and checks that it was written for the same settings and patients.
func (cp *checkpointer) start(resume, fresh bool) (*checkpoint, error) {
	if resume && fresh {
		return nil, errors.New("--resume and --fresh exclude each other")
	}
	eps, err := checkpoints(cp.outDir, cp.kind)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cp.outDir, CheckpointDir)
	if !resume {
		if len(eps) > 0 && !fresh {
			return nil, fmt.Errorf("%s holds %s checkpoints (last: epoch %d): pass --resume to continue that run, or --fresh to start over and remove them",
				dir, cp.kind, eps[len(eps)-1])
		}
		for _, e := range eps {
			if err := os.Remove(CheckpointPath(cp.outDir, cp.kind, e)); err != nil {
				return nil, fmt.Errorf("remove old checkpoint: %w", err)
			}
		}
		if len(eps) > 0 && cp.log != nil {
			fmt.Fprintf(cp.log, "removed %d checkpoint(s) of an earlier %s run in %s\n", len(eps), cp.kind, dir)
		}
		return nil, nil
	}
	if len(eps) == 0 {
		return nil, fmt.Errorf("--resume: no %s checkpoint in %s", cp.kind, dir)
	}
	path := CheckpointPath(cp.outDir, cp.kind, eps[len(eps)-1])
	ck, err := readCheckpoint(path)
	if err != nil {
		return nil, err
	}
	switch {
	case ck.Kind != cp.kind:
		return nil, fmt.Errorf("checkpoint %s: a %s checkpoint, not %s", path, ck.Kind, cp.kind)
	case ck.ConfigHash != cp.configHash:
		return nil, fmt.Errorf("checkpoint %s: written with other [input], [%s] or held-out settings; resume needs the same config", path, cp.kind)
	case ck.DataHash != cp.dataHash:
		return nil, fmt.Errorf("checkpoint %s: written for other training patients (the input data changed)", path)
	case (cp.kind == "med2vec") != (ck.Med2Vec != nil) || (cp.kind == "word2vec") != (ck.Word2Vec != nil):
		return nil, fmt.Errorf("checkpoint %s: no %s state", path, cp.kind)
	}
	if cp.log != nil {
		fmt.Fprintf(cp.log, "resuming from %s\n", path)
	}
	cp.latest = path
	return ck, nil
}

// save writes the checkpoint after epoch and prunes older ones.
func (cp *checkpointer) save(epoch int, m *med2vec.State, w *word2vec.State) error {
	ck := &checkpoint{Kind: cp.kind, ConfigHash: cp.configHash, DataHash: cp.dataHash, Med2Vec: m, Word2Vec: w}
	if err := writeCheckpoint(CheckpointPath(cp.outDir, cp.kind, epoch), ck); err != nil {
		return err
	}
	eps, err := checkpoints(cp.outDir, cp.kind)
	if err != nil {
		return err
	}
	for _, e := range eps {
		if e <= epoch-keepCheckpoints || e > epoch {
			// Older than the kept ones, or later epochs of a run that was
			// resumed from before them: both are superseded.
			if err := os.Remove(CheckpointPath(cp.outDir, cp.kind, e)); err != nil {
				return fmt.Errorf("prune checkpoint: %w", err)
			}
		}
	}
	return nil
}
