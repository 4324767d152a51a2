package tomlfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type conf struct {
	Name string `toml:"name"`
	Sub  struct {
		N int `toml:"n"`
	} `toml:"sub"`
}

func TestDecode(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "c.toml")
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	c := conf{Name: "default"}
	if _, err := Decode(write("[sub]\nn = 3\n"), &c); err != nil || c.Name != "default" || c.Sub.N != 3 {
		t.Fatalf("%+v %v", c, err)
	}
	cases := map[string]string{
		"[sub]\nm = 3\n": "unknown key sub.m",
		"name = 3\n":     "name",
		"name = \"x\n":   "line 1",
	}
	for content, want := range cases {
		if _, err := Decode(write(content), &conf{}); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "c.toml") {
			t.Errorf("%q: %v, want an error naming the file and %q", content, err, want)
		}
	}
	if _, err := Decode(filepath.Join(dir, "absent.toml"), &conf{}); err == nil {
		t.Error("missing file accepted")
	}
	abs := Resolver("/etc/icdcode/c.toml")
	if abs("data") != "/etc/icdcode/data" || abs("/x") != "/x" || abs("") != "" {
		t.Error("Resolver")
	}
}
