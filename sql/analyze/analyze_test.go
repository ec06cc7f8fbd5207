package analyze

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/eddy-streaming/eddy/sql/parse"
)

// TestAnalyzeGolden runs the datadriven files in testdata. Commands:
//
//	ddl      sets statements that are put in front of every later input
//	         (errors inside them print as ddl:LINE:COL)
//	analyze  prints the logical plan of the DDL and the input
//	error    prints the error the DDL and the input give, as
//	         test.sql:LINE:COL: message with LINE counted in the input
//	example  analyzes a file of the repository (path relative to the
//	         repository root) and prints its plan
func TestAnalyzeGolden(t *testing.T) {
	reg := testRegistry(t)
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		ddl := ""
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "ddl":
				ddl = d.Input
				return ""
			case "example":
				text, err := os.ReadFile("../../" + strings.TrimSpace(d.Input))
				if err != nil {
					t.Fatal(err)
				}
				s, err := analyzeSQL(t, reg, "example.sql", string(text))
				if err != nil {
					t.Fatalf("%s: %v", d.Pos, err)
				}
				return formatScript(s)
			case "analyze", "error":
				text := d.Input
				offset := 0
				if ddl != "" {
					text = ddl + "\n" + d.Input
					offset = strings.Count(ddl, "\n") + 1
				}
				s, err := analyzeSQL(t, reg, "test.sql", text)
				if err != nil {
					var perr *parse.Error
					if !errors.As(err, &perr) {
						t.Fatalf("%s: error is %T, not *parse.Error: %v", d.Pos, err, err)
					}
					if d.Cmd == "analyze" {
						t.Errorf("%s: unexpected error: %v", d.Pos, err)
					}
					if perr.Pos.Line <= offset {
						return fmt.Sprintf("ddl:%d:%d: %s\n", perr.Pos.Line, perr.Pos.Col, perr.Msg)
					}
					return fmt.Sprintf("test.sql:%d:%d: %s\n", perr.Pos.Line-offset, perr.Pos.Col, perr.Msg)
				}
				if d.Cmd == "error" {
					t.Errorf("%s: expected an error, got a plan", d.Pos)
				}
				return formatScript(s)
			}
			t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
			return ""
		})
	})
}
