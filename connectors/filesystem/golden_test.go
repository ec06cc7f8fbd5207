package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/datadriven"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/format"
	"github.com/eddy-streaming/eddy/engine/types"
)

// goldenType reads the few SQL types the golden file uses.
func goldenType(s string) types.Type {
	var t types.Type
	if rest, ok := strings.CutSuffix(s, " NOT NULL"); ok {
		t.NotNull, s = true, rest
	}
	switch s {
	case "BOOLEAN":
		t.Kind = types.Boolean
	case "INT":
		t.Kind = types.Int
	case "BIGINT":
		t.Kind = types.BigInt
	case "DOUBLE":
		t.Kind = types.Double
	case "STRING":
		t.Kind = types.String
	case "TIMESTAMP(3)":
		t.Kind, t.Precision = types.Timestamp, 3
	default:
		var p, sc int
		fmt.Sscanf(s, "DECIMAL(%d,%d)", &p, &sc)
		t = types.Type{Kind: types.Decimal, Precision: p, Scale: sc, NotNull: t.NotNull}
	}
	return t
}

// TestGoldenRead is the golden file of how each format reads text: the
// rows it makes (printed as the print connector would) or the error for a
// bad record. Input: column lines "name TYPE", a line "--", then the
// file's text. Arguments are table options. Regenerate with -rewrite.
func TestGoldenRead(t *testing.T) {
	datadriven.RunTest(t, "testdata/read", func(t *testing.T, d *datadriven.TestData) string {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		decl, text, _ := strings.Cut(d.Input, "\n--\n")
		var schema types.Schema
		for _, l := range strings.Split(decl, "\n") {
			name, typ, _ := strings.Cut(strings.TrimSpace(l), " ")
			schema.Fields = append(schema.Fields, types.Field{Name: name, Type: goldenType(typ)})
		}
		dir := t.TempDir()
		path := filepath.Join(dir, "in")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		opts := map[string]string{"path": path}
		for _, a := range d.CmdArgs {
			opts[a.Key] = strings.Join(a.Vals, ",")
		}
		if d.Cmd == "read-nl" { // the file ends without a newline
			os.WriteFile(path, []byte(strings.TrimSuffix(text, "\n")), 0o644)
		}
		src, err := New().NewSource(table("t", schema, opts))
		if err != nil {
			return "error: " + err.Error() + "\n"
		}
		metrics := &counters{}
		rd, err := src.Reader(context.Background(), connectors.ReaderContext{Subtask: 0, Parallelism: 1, BatchSize: 2, Alloc: mem, Metrics: metrics})
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		var out strings.Builder
		for {
			rec, err := rd.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				fmt.Fprintf(&out, "error: %s\n", strings.ReplaceAll(err.Error(), path, "PATH"))
				break
			}
			vs, err := format.ColumnValues(schema, rec)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < int(rec.NumRows()); i++ {
				var b []byte
				for c := range vs {
					if c > 0 {
						b = append(b, " | "...)
					}
					if vs[c].IsNull(i) {
						b = append(b, "NULL"...)
					} else if vs[c].Kind == types.String {
						b = fmt.Appendf(b, "%q", vs[c].Str(i))
					} else {
						b = vs[c].AppendText(b, i, false)
					}
				}
				out.Write(append(b, '\n'))
			}
			rec.Release()
		}
		if n := metrics.get("bad_records_skipped"); n > 0 {
			fmt.Fprintf(&out, "skipped: %v\n", n)
		}
		return out.String()
	})
}
