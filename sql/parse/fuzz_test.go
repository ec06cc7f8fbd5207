package parse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics (it turns a panic into an
// "internal error", which fails here too), that errors are *Error values
// positioned inside the text, and that statements point into the text.
// Seeds: testdata/fuzz/FuzzParse and every input of the golden files.
//
//	go test ./sql/parse -run '^$' -fuzz FuzzParse -fuzztime 30s
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/golden/*")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, in := range goldenInputs(string(data)) {
			f.Add(in)
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		script, err := Parse("f.sql", text)
		src := newSource("f.sql", text)
		if err != nil {
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("error %T is not an *Error: %v", err, err)
			}
			if strings.HasPrefix(e.Msg, "internal error") {
				t.Fatalf("internal error: %v", e)
			}
			if e.File != "f.sql" || e.Pos != src.pos(e.Pos.Offset) || e.Pos.Offset > len(text) {
				t.Fatalf("error position %+v is not in the text", e.Pos)
			}
			return
		}
		for _, st := range script.Stmts {
			p := st.Start()
			if p != src.pos(p.Offset) || !strings.HasPrefix(text[p.Offset:], st.Source()) || st.Source() == "" {
				t.Fatalf("statement at %+v does not point at its source %q", p, st.Source())
			}
		}
	})
}

// goldenInputs returns the inputs of a datadriven file: the lines between a
// command line and its "----".
func goldenInputs(data string) []string {
	var out []string
	var cur []string
	in := false
	for _, line := range strings.Split(data, "\n") {
		switch {
		case !in && (line == "parse" || strings.HasPrefix(line, "parse ") || line == "error"):
			in, cur = true, nil
		case in && line == "----":
			out = append(out, strings.Join(cur, "\n"))
			in = false
		case in:
			cur = append(cur, line)
		}
	}
	return out
}
