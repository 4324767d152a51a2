// Package tomlfile reads icdcode's TOML config files the one strict way every
// command needs: a syntax error names the line, an unknown or misspelled key
// is an error naming the key (a typo must never fall back to a default
// silently), and relative paths in the file are taken relative to the file's
// folder so that a config works from any directory.
package tomlfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
)

// Decode reads path into v (which should hold the defaults already) and
// returns the file's bytes.
func Decode(path string, v any) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	md, err := toml.NewDecoder(bytes.NewReader(raw)).Decode(v)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("config %s: line %d: %s", path, perr.Position.Line, perr.Message)
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("config %s: unknown key %s", path, strings.Join(keys, ", "))
	}
	return raw, nil
}

// Resolver returns a function that makes a path from the file at path
// absolute relative to that file's folder; empty and absolute paths are
// returned as they are.
func Resolver(path string) func(string) string {
	base := filepath.Dir(path)
	return func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
}
