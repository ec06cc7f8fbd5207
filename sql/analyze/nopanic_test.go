package analyze

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/sql/parse"
)

// TestMutatedSQLNeverPanics takes the scripts of the golden files, mutates
// them at random (tokens dropped, repeated, swapped or replaced by others)
// and checks that Analyze answers every one that parses with a plan or a
// *parse.Error, never a panic.
func TestMutatedSQLNeverPanics(t *testing.T) {
	reg := testRegistry(t)
	funcs := testFuncs(t)
	type script struct{ ddl, query string }
	var scripts []script
	files, _ := filepath.Glob("testdata/*")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ddl := ""
		lines := strings.Split(string(data), "\n")
		for i := 0; i < len(lines); i++ {
			cmd := strings.TrimSpace(lines[i])
			if cmd != "ddl" && cmd != "analyze" && cmd != "error" && cmd != "example" {
				continue
			}
			j := i + 1
			for j < len(lines) && lines[j] != "----" {
				j++
			}
			input := strings.Join(lines[i+1:j], "\n")
			switch cmd {
			case "ddl":
				ddl = input
			case "example":
				b, err := os.ReadFile("../../" + strings.TrimSpace(input))
				if err != nil {
					t.Fatal(err)
				}
				scripts = append(scripts, script{query: string(b)})
			default:
				scripts = append(scripts, script{ddl: ddl, query: input})
			}
			i = j
		}
	}
	vocab := []string{"SELECT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "NULL", "(", ")", ",", "*", "+", "-", "/",
		"CAST", "AS", "INT", "TABLE", "TUMBLE", "DESCRIPTOR", "INTERVAL", "'1'", "SECOND", "OVER", "ROW_NUMBER()",
		"ORDER", "PARTITION", "rn", "a", "b", "ts", "window_start", "1", "0", "2.5", "COUNT(*)", "SUM", "AND", "OR",
		"NOT", "CASE", "WHEN", "THEN", "ELSE", "END", "=", "<=", "IN", "BETWEEN", "IS", "TRUE",
		// Issue 3's SQL.
		"UNION", "ALL", "DISTINCT", "JOIN", "LEFT", "FULL", "CROSS", "ON", "WITH", "VIEW", "CREATE", "LATERAL",
		"FILTER", "(WHERE", "FIRST_VALUE(a)", "APPROX_COUNT_DISTINCT", "EXPLAIN", "split(s)", "weighted_avg(a,",
		"my_count(b)", "HOP", "CUMULATE", "SESSION", "PROCTIME()", "pt", "EXISTS", "(SELECT", "g.", "l.", "T(x)",
		"TIMESTAMP_LTZ(3)", "FLOOR(ts", "TO", "HOUR)"}
	r := rand.New(rand.NewPCG(7, 7))
	parsed, parsePanics := 0, 0
	for i := 0; i < 12000; i++ {
		sc := scripts[r.IntN(len(scripts))]
		toks := strings.Fields(sc.query)
		for m := 1 + r.IntN(2); m > 0 && len(toks) > 1; m-- {
			j := r.IntN(len(toks))
			switch r.IntN(4) {
			case 0:
				toks = append(toks[:j], toks[j+1:]...)
			case 1:
				toks = append(toks[:j+1], toks[j:]...)
			case 2:
				k := r.IntN(len(toks))
				toks[j], toks[k] = toks[k], toks[j]
			default:
				toks[j] = vocab[r.IntN(len(vocab))]
			}
		}
		text := sc.ddl + "\n" + strings.Join(toks, " ")
		script, err := func() (s *parse.Script, err error) {
			defer func() {
				if p := recover(); p != nil {
					parsePanics++
					err = fmt.Errorf("parse panicked: %v", p)
				}
			}()
			return parse.Parse("m.sql", text)
		}()
		if err != nil {
			continue
		}
		parsed++
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("Analyze panicked on\n%s\n%v\n%s", text, p, debug.Stack())
				}
			}()
			_, err := AnalyzeWith(context.Background(), script, Env{Connectors: reg, Functions: funcs})
			var perr *parse.Error
			if err != nil && !errors.As(err, &perr) {
				t.Fatalf("Analyze returned %T, not *parse.Error, on\n%s\n%v", err, text, err)
			}
		}()
	}
	if parsePanics > 0 {
		t.Logf("sql/parse panicked on %d mutated scripts (not this package's bug)", parsePanics)
	}
	if parsed < 500 {
		t.Fatalf("only %d mutated scripts parsed; the test is not exercising Analyze", parsed)
	}
	t.Logf("%d mutated scripts analyzed without a panic", parsed)
}
