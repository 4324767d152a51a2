package sources

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// TagUMLS tags strings of a {code: [strings]} JSON file.
const TagUMLS = "umls-json:term"

// resolver returns the code resolution of a tsv or umls-json source.
func resolver(opt Options) (func(string) (string, error), error) {
	if opt.Resolve != nil {
		return opt.Resolve, nil
	}
	if opt.System == "" {
		return nil, fmt.Errorf("the code system of the file is not set")
	}
	return func(raw string) (string, error) { return ResolveCode(raw, opt.System, opt.Kind) }, nil
}

// parseUMLS reads a JSON object mapping codes to arrays of strings, the
// layout of ICD-MSMN's UMLS synonym file ({"401.9": ["hypertension", …]}).
// It walks the tokens with json.Decoder so that only one string is held at a
// time, whatever the file size. A key may repeat; its strings add up.
//
// Counts: "codes" (keys), "strings".
func parseUMLS(name string, r io.Reader, opt Options, st *Stats, emit func(Entry) error) error {
	resolve, err := resolver(opt)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	dec := json.NewDecoder(r)
	at := func() string { return fmt.Sprintf("%s offset %d", name, dec.InputOffset()) }
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%s: %w", at(), jsonEOF(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("%s: want a JSON object {code: [strings]}, found %v", at(), tok)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%s: %w", at(), jsonEOF(err))
		}
		key, ok := tok.(string) // object keys are always strings
		if !ok {
			return fmt.Errorf("%s: field key: %v is not a string", at(), tok)
		}
		st.Counts["codes"]++
		code, cerr := resolve(key)
		if cerr != nil {
			st.skip("invalid code", fmt.Sprintf("%s: field %q: %v", at(), key, cerr))
		}
		tok, err = dec.Token()
		if err != nil {
			return fmt.Errorf("%s: field %q: %w", at(), key, jsonEOF(err))
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return fmt.Errorf("%s: field %q: want an array of strings, found %v", at(), key, tok)
		}
		for i := 0; dec.More(); i++ {
			tok, err := dec.Token()
			if err != nil {
				return fmt.Errorf("%s: field %q[%d]: %w", at(), key, i, jsonEOF(err))
			}
			s, ok := tok.(string)
			if !ok {
				return fmt.Errorf("%s: field %q[%d]: %v is not a string", at(), key, i, tok)
			}
			st.Counts["strings"]++
			if cerr != nil {
				continue
			}
			if s = clean(s); s == "" {
				st.skip("empty string", fmt.Sprintf("%s: field %q[%d]: empty", at(), key, i))
				continue
			}
			st.Entries++
			if err := emit(Entry{Code: code, Term: s, Source: TagUMLS}); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // the closing ]
			return fmt.Errorf("%s: field %q: %w", at(), key, jsonEOF(err))
		}
	}
	if _, err := dec.Token(); err != nil { // the closing }
		return fmt.Errorf("%s: %w", at(), jsonEOF(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: data after the JSON object", at())
	}
	return nil
}

func jsonEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseTSV reads any code<TAB>term file: blank lines and lines starting with
// "#" are skipped; the term is everything after the first tab. Codes are in
// opt.System, resolved as ResolveCode says unless opt.Resolve is given. The
// tag is "tsv:" and the file's base name, so that several user files stay
// apart in the report and in the candidates' sources.
//
// Counts: "lines".
func parseTSV(name string, r io.Reader, opt Options, st *Stats, emit func(Entry) error) error {
	resolve, err := resolver(opt)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	tag := "tsv:" + baseName(name)
	lr := newLineReader(name, r, st)
	for {
		s, err := lr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if t := strings.TrimSpace(s); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		st.Counts["lines"]++
		rawCode, term, ok := strings.Cut(s, "\t")
		if !ok {
			return fmt.Errorf("%s line %d: field term: missing (want code<TAB>term)", name, lr.line)
		}
		code, err := resolve(rawCode)
		if err != nil {
			st.skip("invalid code", fmt.Sprintf("%s line %d: field code: %v", name, lr.line, err))
			continue
		}
		if term = clean(term); term == "" {
			st.skip("empty term", fmt.Sprintf("%s line %d: field term: empty", name, lr.line))
			continue
		}
		st.Entries++
		if err := emit(Entry{Code: code, Term: term, Source: tag}); err != nil {
			return err
		}
	}
}
