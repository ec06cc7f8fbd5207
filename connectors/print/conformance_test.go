package print_test

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/connectortest"
	"github.com/eddy-streaming/eddy/connectors/print"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/engine/types/sqltext"
)

// lockedBuffer is the print sink's output, read back after each job.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

// TestConformance runs the conformance suite over the print sink, with
// inserts and with a retract changelog, whose lines are parsed back into
// rows with their kinds. Printed lines cannot be taken back, so across
// failures the sink is at least once.
func TestConformance(t *testing.T) {
	for _, mode := range []string{"", "retract"} {
		t.Run("changelog="+mode, func(t *testing.T) { conformance(t, mode) })
	}
}

func conformance(t *testing.T, changelog string) {
	var stdout, stderr lockedBuffer
	n := 0
	connectortest.RunSink(t, connectortest.SinkHarness{
		Changelog:   changelog,
		Factory:     print.New(&stdout, &stderr),
		AtLeastOnce: true,
		// Print does not quote: strings without separators.
		Generator: connectortest.Generator{ASCII: true},
		NewTable: func(t testing.TB) connectors.TableInfo {
			n++
			stdout.take()
			stderr.take()
			opts := map[string]string{"connector": "print", "print-identifier": "t" + strconv.Itoa(n)}
			if n%2 == 0 {
				opts["standard-error"] = "true"
			}
			return connectors.TableInfo{Name: "printed", Schema: connectortest.AllTypesSchema(), Options: opts}
		},
		ReadBack: func(t testing.TB, info connectors.TableInfo) []connectortest.Row {
			out := &stdout
			if info.Options["standard-error"] == "true" {
				out = &stderr
			}
			text := out.take()
			var rows []connectortest.Row
			for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
				if line == "" {
					continue
				}
				row, err := parseLine(info.Schema, info.Options["print-identifier"], line)
				if err != nil {
					t.Fatalf("printed line %q: %v", line, err)
				}
				rows = append(rows, row)
			}
			return rows
		},
	})
}

// parseLine reads "ident[:subtask]> +I[v, v, ...]" back into a row in
// connectortest's canonical cells.
func parseLine(schema types.Schema, ident, line string) (connectortest.Row, error) {
	prefix, rest, ok := strings.Cut(line, "> ")
	if !ok || (prefix != ident && !strings.HasPrefix(prefix, ident+":")) {
		return connectortest.Row{}, errorf("no prefix %q", ident)
	}
	kinds := map[string]stream.RowKind{"+I": stream.Insert, "-U": stream.UpdateBefore, "+U": stream.UpdateAfter, "-D": stream.Delete}
	if len(rest) < 4 || rest[2] != '[' || rest[len(rest)-1] != ']' {
		return connectortest.Row{}, errorf("not a row")
	}
	kind, ok := kinds[rest[:2]]
	if !ok {
		return connectortest.Row{}, errorf("row kind %q", rest[:2])
	}
	vals := strings.Split(rest[3:len(rest)-1], ", ")
	if len(vals) != schema.Len() {
		return connectortest.Row{}, errorf("%d values for %d columns", len(vals), schema.Len())
	}
	row := connectortest.Row{Kind: kind, Cells: make([]string, len(vals))}
	for i, v := range vals {
		c, err := cell(schema.Fields[i].Type, v)
		if err != nil {
			return connectortest.Row{}, errorf("column %s: %v", schema.Fields[i].Name, err)
		}
		row.Cells[i] = c
	}
	return row, nil
}

// cell turns printed text into the canonical cell of connectortest.Cell.
func cell(t types.Type, v string) (string, error) {
	if v == "null" && t.Kind != types.String {
		return "NULL", nil
	}
	b := []byte(v)
	switch t.Kind {
	case types.Boolean:
		x, ok := sqltext.ParseBool(b)
		if !ok {
			return "", errorf("bad boolean %q", v)
		}
		return strconv.FormatBool(x), nil
	case types.Int, types.BigInt:
		x, err := sqltext.ParseInt(b, 64)
		return strconv.FormatInt(x, 10), err
	case types.Double:
		x, ok := sqltext.ParseDouble(b)
		if !ok {
			return "", errorf("bad double %q", v)
		}
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case types.Decimal:
		x, err := sqltext.ParseDecimal(b, t.Precision, t.Scale)
		return string(sqltext.AppendDecimal(nil, x, t.Scale)), err
	case types.String:
		if v == "null" {
			return "NULL", nil
		}
		return strconv.Quote(v), nil
	case types.Timestamp:
		x, ok := sqltext.ParseTimestamp(b)
		if !ok {
			return "", errorf("bad timestamp %q", v)
		}
		return string(sqltext.AppendTimestamp(nil, x, ' ')), nil
	}
	return "", errorf("type %s", t)
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
