package mimic3

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// SynthOptions sizes a synthetic MIMIC-III note corpus.
type SynthOptions struct {
	// NoteBytes is the approximate size of NOTEEVENTS.csv to write.
	NoteBytes int64
	// Seed makes the corpus reproducible.
	Seed uint64
	// Gzip writes NOTEEVENTS.csv.gz instead of NOTEEVENTS.csv.
	Gzip bool
	// Admissions, when positive, fixes the number of admissions; every note
	// is then lengthened (or shortened) in proportion so that the file
	// still reaches NoteBytes. Zero keeps MIMIC's ~64 kB of notes per
	// admission, so the number of admissions grows with the file.
	Admissions int
}

// SynthResult says what GenerateSynthetic wrote.
type SynthResult struct {
	Dir        string // the tables: NOTEEVENTS, DIAGNOSES_ICD, PROCEDURES_ICD
	SplitsDir  string // a CAML-style split folder ({train,dev,test}_full_hadm_ids.csv)
	NoteEvents string // path of the NOTEEVENTS file
	NoteBytes  int64  // its size on disk
	Admissions int    // admissions with notes
	InSplits   int    // admissions listed in the split files
}

// GenerateSynthetic writes a synthetic, MIMIC-III-shaped corpus under dir, for
// benchmarks and tests at scale (no real patient data exists to test with).
// Its shape follows the real NOTEEVENTS: about 14% of the bytes are discharge
// summaries (reports of ~9 kB, some with addenda written later in the file),
// the rest nursing, radiology, ECG and physician notes; TEXT is quoted and
// multi-line with commas, escaped quotes and a little non-ASCII; a few rows
// have ISERROR set or no HADM_ID. Codes follow a Zipf law, undotted and
// unquoted as in MIMIC. One admission in ten is left out of the split lists.
func GenerateSynthetic(dir string, o SynthOptions) (SynthResult, error) {
	res := SynthResult{Dir: filepath.Join(dir, "tables"), SplitsDir: filepath.Join(dir, "splits")}
	for _, d := range []string{res.Dir, res.SplitsDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return res, err
		}
	}
	g := &synth{rng: rand.New(rand.NewPCG(o.Seed, 0x1cdc0de)), pool: makeTextPool(rand.New(rand.NewPCG(o.Seed, 7)))}
	name := "NOTEEVENTS.csv"
	if o.Gzip {
		name += ".gz"
	}
	res.NoteEvents = filepath.Join(res.Dir, name)
	f, err := os.Create(res.NoteEvents)
	if err != nil {
		return res, err
	}
	defer f.Close()
	var w io.Writer = f
	var zw *gzip.Writer
	if o.Gzip {
		zw, _ = gzip.NewWriterLevel(f, gzip.BestSpeed)
		w = zw
	}
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	bw.WriteString("ROW_ID,SUBJECT_ID,HADM_ID,CHARTDATE,CHARTTIME,STORETIME,CATEGORY,DESCRIPTION,CGID,ISERROR,TEXT\n")

	type admission struct{ hadm, subject int }
	var adms []admission
	var pendingAddenda []admission // written a few admissions later, as real addenda are
	rowID := 0
	written := func() int64 { return cw.n + int64(bw.Buffered()) }
	if o.Admissions > 0 {
		g.scale = float64(o.NoteBytes) / float64(o.Admissions) / 64e3
	} else {
		g.scale = 1
	}
	for (o.Admissions > 0 && len(adms) < o.Admissions) || (o.Admissions <= 0 && written() < o.NoteBytes) {
		a := admission{hadm: 100000 + len(adms)*7 + g.rng.IntN(7), subject: 10000 + len(adms)}
		adms = append(adms, a)
		// Other notes first, then the discharge summary, as in a stay.
		for k := 4 + g.rng.IntN(40); k > 0; k-- {
			rowID++
			cat, desc, size := g.otherNote()
			hadm := strconv.Itoa(a.hadm)
			if g.rng.IntN(50) == 0 {
				hadm = "" // outpatient notes have no HADM_ID
			}
			g.writeRow(bw, rowID, a.subject, hadm, cat, desc, "", size)
		}
		rowID++
		isErr := ""
		if g.rng.IntN(500) == 0 {
			isErr = "1"
		}
		g.writeRow(bw, rowID, a.subject, strconv.Itoa(a.hadm), "Discharge summary", "Report", isErr, 2000+g.rng.IntN(15000))
		if g.rng.IntN(5) == 0 {
			pendingAddenda = append(pendingAddenda, a)
		}
		if len(pendingAddenda) > 3 {
			p := pendingAddenda[0]
			pendingAddenda = pendingAddenda[1:]
			rowID++
			g.writeRow(bw, rowID, p.subject, strconv.Itoa(p.hadm), "Discharge summary", "Addendum", "", 300+g.rng.IntN(1500))
		}
	}
	for _, p := range pendingAddenda {
		rowID++
		g.writeRow(bw, rowID, p.subject, strconv.Itoa(p.hadm), "Discharge summary", "Addendum", "", 300+g.rng.IntN(1500))
	}
	if err := bw.Flush(); err != nil {
		return res, err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return res, err
		}
	}
	if err := f.Close(); err != nil {
		return res, err
	}
	st, err := os.Stat(res.NoteEvents)
	if err != nil {
		return res, err
	}
	res.NoteBytes = st.Size()
	res.Admissions = len(adms)

	// Codes tables and split lists.
	diag, proc := &strings.Builder{}, &strings.Builder{}
	diag.WriteString("ROW_ID,SUBJECT_ID,HADM_ID,SEQ_NUM,ICD9_CODE\n")
	proc.WriteString("ROW_ID,SUBJECT_ID,HADM_ID,SEQ_NUM,ICD9_CODE\n")
	diagCodes, procCodes := synthCodes(g.rng, 6000, false), synthCodes(g.rng, 2000, true)
	dz, pz := rand.NewZipf(g.rng, 1.1, 4, uint64(len(diagCodes)-1)), rand.NewZipf(g.rng, 1.1, 4, uint64(len(procCodes)-1))
	dRow, pRow := 0, 0
	splitIDs := map[string][]int{}
	for i, a := range adms {
		for k := 1; k <= 3+g.rng.IntN(20); k++ {
			dRow++
			code := diagCodes[dz.Uint64()]
			if g.rng.IntN(1000) == 0 {
				code = "" // MIMIC has a few rows without a code
			}
			fmt.Fprintf(diag, "%d,%d,%d,%d,%s\n", dRow, a.subject, a.hadm, k, code)
		}
		for k := 1; k <= g.rng.IntN(8); k++ {
			pRow++
			fmt.Fprintf(proc, "%d,%d,%d,%d,%s\n", pRow, a.subject, a.hadm, k, procCodes[pz.Uint64()])
		}
		switch i % 10 {
		case 0:
			// left out of the split lists
		case 1:
			splitIDs["dev"] = append(splitIDs["dev"], a.hadm)
		case 2:
			splitIDs["test"] = append(splitIDs["test"], a.hadm)
		default:
			splitIDs["train"] = append(splitIDs["train"], a.hadm)
		}
	}
	if err := os.WriteFile(filepath.Join(res.Dir, "DIAGNOSES_ICD.csv"), []byte(diag.String()), 0o644); err != nil {
		return res, err
	}
	if err := os.WriteFile(filepath.Join(res.Dir, "PROCEDURES_ICD.csv"), []byte(proc.String()), 0o644); err != nil {
		return res, err
	}
	for _, s := range []string{"train", "dev", "test"} {
		var b strings.Builder
		for _, id := range splitIDs[s] {
			b.WriteString(strconv.Itoa(id) + "\n")
		}
		res.InSplits += len(splitIDs[s])
		if err := os.WriteFile(filepath.Join(res.SplitsDir, s+"_full_hadm_ids.csv"), []byte(b.String()), 0o644); err != nil {
			return res, err
		}
	}
	return res, nil
}

type synth struct {
	rng   *rand.Rand
	pool  string  // pre-escaped random note text; notes are slices of it
	scale float64 // note length factor (see SynthOptions.Admissions)
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

// otherNote picks a category in roughly MIMIC-III's proportions (by bytes).
func (g *synth) otherNote() (cat, desc string, size int) {
	switch r := g.rng.IntN(100); {
	case r < 45:
		return "Nursing/other", "Report", 300 + g.rng.IntN(2500)
	case r < 70:
		return "Radiology", "CHEST (PORTABLE AP)", 500 + g.rng.IntN(3000)
	case r < 80:
		return "Nursing", "Nursing Progress Note", 1000 + g.rng.IntN(5000)
	case r < 90:
		return "ECG", "Report", 100 + g.rng.IntN(400)
	case r < 97:
		return "Physician ", "Physician Resident Progress Note", 3000 + g.rng.IntN(9000)
	default:
		return "Echo", "Report", 1000 + g.rng.IntN(3000)
	}
}

func (g *synth) writeRow(w *bufio.Writer, rowID, subject int, hadm, cat, desc, isErr string, size int) {
	date := fmt.Sprintf("21%02d-%02d-%02d", 10+g.rng.IntN(90), 1+g.rng.IntN(12), 1+g.rng.IntN(28))
	fmt.Fprintf(w, "%d,%d,%s,%s,%s 10:00:00,%s 11:00:00,\"%s\",\"%s\",%d,%s,\"", rowID, subject, hadm, date, date, date, cat, desc, 14000+g.rng.IntN(9000), isErr)
	if cat == "Discharge summary" && desc == "Report" {
		fmt.Fprintf(w, "Admission Date:  [**%s**]              Discharge Date:   [**%s**]\n\nDate of Birth:  [**2090-1-1**]             Sex:   M\n\nService: MEDICINE\n\n", date, date)
	}
	// A slice of the pool starting and ending at a space, so an escaped
	// quote pair is never cut in two.
	size = min(max(int(float64(size)*g.scale), 10), len(g.pool)/2)
	start := g.rng.IntN(len(g.pool) - size - 1)
	for start > 0 && g.pool[start-1] != ' ' {
		start--
	}
	end := start + size
	for end < len(g.pool) && g.pool[end] != ' ' {
		end++
	}
	w.WriteString(g.pool[start:end])
	w.WriteString("\"\n")
}

var synthWords = strings.Fields(`patient was admitted with chest pain shortness of breath and fever
history of present illness hypertension diabetes mellitus type coronary artery disease
status post CABG cardiac catheterization showed stenosis of the LAD RCA and circumflex
he she denies nausea vomiting diarrhea abdominal pain blood pressure heart rate
mg PO daily BID TID QID PRN tablet sig one by mouth times discharge medications
lisinopril metoprolol aspirin atorvastatin furosemide insulin heparin warfarin
pneumonia sepsis acute renal failure congestive heart failure atrial fibrillation
the of and to in with for on was is no not at by as an be
physical exam general alert oriented NAD HEENT PERRL EOMI neck supple lungs clear
CTAB cardiac RRR murmur abdomen soft nontender extremities edema neuro intact
labs WBC Hgb Hct Plt Na Cl HCO3 BUN Cr glucose INR PTT troponin CK-MB lactate
impression plan continue monitor follow up with PCP in weeks cardiology clinic`)

var synthSections = []string{
	"\n\nHistory of Present Illness:\n", "\n\nPast Medical History:\n", "\n\nPhysical Exam:\n",
	"\n\nPertinent Results:\n", "\n\nBrief Hospital Course:\n", "\n\nDischarge Medications:\n",
	"\n\nDischarge Diagnosis:\n", "\n\nDischarge Condition:\n", "\n\nFollowup Instructions:\n",
}

// makeTextPool builds 8 MB of note-like text, already CSV-escaped (quotes
// doubled), with de-identification brackets, numbers, lists, commas, quotes,
// line breaks and a few non-ASCII characters.
func makeTextPool(rng *rand.Rand) string {
	var b strings.Builder
	b.Grow(8<<20 + 1024)
	for b.Len() < 8<<20 {
		switch r := rng.IntN(200); {
		case r < 2:
			b.WriteString(synthSections[rng.IntN(len(synthSections))])
		case r < 6:
			b.WriteString("[**Hospital1 " + strconv.Itoa(rng.IntN(999)) + "**]")
		case r < 9:
			b.WriteString(strconv.Itoa(rng.IntN(300)) + "." + strconv.Itoa(rng.IntN(10)))
		case r < 11:
			b.WriteString("\"\"" + synthWords[rng.IntN(len(synthWords))] + "\"\"")
		case r < 12:
			b.WriteString(strconv.Itoa(rng.IntN(40)) + "°C")
		case r < 13:
			b.WriteString("\n" + strconv.Itoa(1+rng.IntN(9)) + ".")
		case r < 14:
			b.WriteString("5 µg")
		default:
			b.WriteString(synthWords[rng.IntN(len(synthWords))])
		}
		switch r := rng.IntN(20); {
		case r < 2:
			b.WriteString(", ")
		case r < 3:
			b.WriteString(". ")
		case r < 4:
			b.WriteString("\n ")
		default:
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// synthCodes makes n distinct valid undotted ICD-9 codes (diagnoses with
// some V and E codes, or procedures).
func synthCodes(rng *rand.Rand, n int, proc bool) []string {
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		var c string
		switch {
		case proc:
			c = fmt.Sprintf("%0*d", 2+rng.IntN(3), rng.IntN(10000))
			if len(c) > 4 {
				c = c[:4]
			}
		case rng.IntN(20) == 0:
			c = fmt.Sprintf("V%0*d", 2+rng.IntN(3), rng.IntN(1000))
			if len(c) > 5 {
				c = c[:5]
			}
		case rng.IntN(30) == 0:
			c = fmt.Sprintf("E%03d%d", rng.IntN(1000), rng.IntN(10))
		default:
			c = fmt.Sprintf("%0*d", 3+rng.IntN(3), rng.IntN(100000))
			if len(c) > 5 {
				c = c[:5]
			}
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}
