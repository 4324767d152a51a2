package tokenizer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/icdcode/icdcode/data/fileio"
)

func byteLevelJSON(prefix bool) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"type":"ByteLevel","add_prefix_space":%t,"trim_offsets":true,"use_regex":true}`, prefix))
}

// Save writes the tokenizer into dir (created if needed), each file
// atomically: tokenizer.json (Hugging Face format, the file Load prefers),
// tokenizer_config.json, and vocab.txt (WordPiece) or vocab.json + merges.txt
// (BPE) for tools that read those.
func (t *Tokenizer) Save(dir string) error {
	if err := fileio.WriteAtomic(filepath.Join(dir, TokenizerJSON), t.writeJSON); err != nil {
		return err
	}
	if err := fileio.WriteAtomic(filepath.Join(dir, TokenizerConfig), t.writeConfig); err != nil {
		return err
	}
	if t.kind == WordPiece {
		return fileio.WriteAtomic(filepath.Join(dir, VocabTxt), func(w io.Writer) error {
			for _, tok := range t.tokens {
				if strings.ContainsAny(tok, "\n\r") {
					return fmt.Errorf("token %q cannot be written to %s", tok, VocabTxt)
				}
				if _, err := io.WriteString(w, tok+"\n"); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := fileio.WriteAtomic(filepath.Join(dir, VocabJSON), func(w io.Writer) error {
		return writeVocabObject(w, t.tokens, "")
	}); err != nil {
		return err
	}
	return fileio.WriteAtomic(filepath.Join(dir, MergesTxt), func(w io.Writer) error {
		if _, err := io.WriteString(w, "#version: 0.2\n"); err != nil {
			return err
		}
		for _, m := range t.merges {
			if _, err := io.WriteString(w, m[0]+" "+m[1]+"\n"); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeVocabObject writes {"token": id, ...} in id order, one entry a line.
func writeVocabObject(w io.Writer, tokens []string, indent string) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("{")
	for i, tok := range tokens {
		k, _ := json.Marshal(tok)
		if i > 0 {
			bw.WriteString(",")
		}
		fmt.Fprintf(bw, "\n%s  %s: %d", indent, k, i)
	}
	bw.WriteString("\n" + indent + "}")
	return bw.Flush()
}

func rawOrNull(r json.RawMessage) string {
	if isNull(r) {
		return "null"
	}
	return string(r)
}

func (t *Tokenizer) postProcessor() string {
	if !isNull(t.postJSON) {
		return string(t.postJSON)
	}
	s := t.Special()
	if s.CLS < 0 || s.SEP < 0 {
		return "null"
	}
	pair := func(id int) string {
		k, _ := json.Marshal(t.tokens[id])
		return fmt.Sprintf("[%s, %d]", k, id)
	}
	if t.kind == WordPiece {
		return fmt.Sprintf(`{"type": "BertProcessing", "sep": %s, "cls": %s}`, pair(s.SEP), pair(s.CLS))
	}
	return fmt.Sprintf(`{"type": "RobertaProcessing", "sep": %s, "cls": %s, "trim_offsets": true, "add_prefix_space": true}`, pair(s.SEP), pair(s.CLS))
}

func (t *Tokenizer) decoder() string {
	if !isNull(t.decJSON) {
		return string(t.decJSON)
	}
	switch {
	case t.kind == WordPiece:
		k, _ := json.Marshal(t.prefix)
		return fmt.Sprintf(`{"type": "WordPiece", "prefix": %s, "cleanup": true}`, k)
	case t.byteLevel:
		return `{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}`
	}
	return "null"
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (t *Tokenizer) writeJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
	for i, tok := range t.special {
		if i > 0 {
			bw.WriteString(",")
		}
		fmt.Fprintf(bw, "\n    {\"id\": %d, \"content\": %s, \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
			t.vocab[tok], jsonString(tok))
	}
	if len(t.special) > 0 {
		bw.WriteString("\n  ")
	}
	fmt.Fprintf(bw, "],\n  \"normalizer\": %s,\n  \"pre_tokenizer\": %s,\n  \"post_processor\": %s,\n  \"decoder\": %s,\n  \"model\": {\n",
		rawOrNull(t.normJSON), rawOrNull(t.preJSON), t.postProcessor(), t.decoder())
	if t.kind == WordPiece {
		fmt.Fprintf(bw, "    \"type\": \"WordPiece\",\n    \"unk_token\": %s,\n    \"continuing_subword_prefix\": %s,\n    \"max_input_chars_per_word\": %d,\n    \"vocab\": ",
			jsonString(t.unkTok), jsonString(t.prefix), t.maxChars)
		if err := bw.Flush(); err != nil {
			return err
		}
		if err := writeVocabObject(bw, t.tokens, "    "); err != nil {
			return err
		}
	} else {
		unk, prefix, suffix := "null", "null", "null"
		if t.unk >= 0 {
			unk = jsonString(t.unkTok)
		}
		if t.bpePrefix != "" {
			prefix = jsonString(t.bpePrefix)
		}
		if t.suffix != "" {
			suffix = jsonString(t.suffix)
		}
		fmt.Fprintf(bw, "    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": %s,\n    \"continuing_subword_prefix\": %s,\n    \"end_of_word_suffix\": %s,\n    \"fuse_unk\": %t,\n    \"byte_fallback\": false,\n    \"vocab\": ",
			unk, prefix, suffix, t.fuseUnk)
		if err := writeVocabObject(bw, t.tokens, "    "); err != nil {
			return err
		}
		bw.WriteString(",\n    \"merges\": [")
		for i, m := range t.merges {
			if i > 0 {
				bw.WriteString(",")
			}
			fmt.Fprintf(bw, "\n      %s", jsonString(m[0]+" "+m[1]))
		}
		bw.WriteString("\n    ]")
	}
	bw.WriteString("\n  }\n}\n")
	return bw.Flush()
}

func (t *Tokenizer) writeConfig(w io.Writer) error {
	cfg := map[string]any{"do_lower_case": t.lowercase, "model_max_length": 512}
	s := t.Special()
	for name, id := range map[string]int{"cls_token": s.CLS, "sep_token": s.SEP, "pad_token": s.PAD, "unk_token": s.UNK, "mask_token": s.MASK} {
		if id >= 0 {
			cfg[name] = t.tokens[id]
		}
	}
	if t.kind == WordPiece {
		cfg["tokenizer_class"] = "BertTokenizer"
	} else {
		cfg["tokenizer_class"] = "RobertaTokenizer"
		cfg["add_prefix_space"] = t.addsPrefixSpace()
		if s.CLS >= 0 {
			cfg["bos_token"] = t.tokens[s.CLS]
		}
		if s.SEP >= 0 {
			cfg["eos_token"] = t.tokens[s.SEP]
		}
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// addsPrefixSpace reports whether the byte-level pre-tokenizer adds a space.
func (t *Tokenizer) addsPrefixSpace() bool {
	var o jsonObj
	if json.Unmarshal(t.preJSON, &o) == nil && o.Type == "ByteLevel" {
		return boolOr(o.AddPrefixSpace, true)
	}
	return false
}
