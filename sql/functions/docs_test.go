package functions_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/sql/functions"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/functions.md from the registry")

// TestFunctionsDoc checks that docs/functions.md lists every built-in
// function as the registry describes it (go test -update-docs rewrites it).
func TestFunctionsDoc(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("# Built-in functions\n\n<!-- Generated from sql/functions by `go test ./sql/functions -update-docs`. -->\n\n")
	sb.WriteString("Flink's names, argument rules and result types; NULL in gives NULL out unless a function says otherwise. " +
		"Positions and lengths count Unicode code points. User-defined functions are written in Go (package udf, example in examples/udf).\n")
	cat := ""
	for _, f := range functions.All() {
		if f.Category != cat {
			cat = f.Category
			fmt.Fprintf(&sb, "\n## %s\n\n| function | returns |\n|---|---|\n", strings.ToUpper(cat[:1])+cat[1:])
		}
		names := f.Synopsis
		if len(f.Aliases) > 0 {
			names += " (also " + strings.Join(f.Aliases, ", ") + ")"
		}
		fmt.Fprintf(&sb, "| `%s` | %s |\n", strings.ReplaceAll(names, "|", `\|`), strings.ReplaceAll(f.Doc, "|", `\|`))
	}
	const path = "../../docs/functions.md"
	if *updateDocs {
		if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != sb.String() {
		t.Fatalf("%s is out of date: run go test ./sql/functions -update-docs", path)
	}
}
