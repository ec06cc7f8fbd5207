package filesystem

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/types"
)

// recordingHandler keeps every bad record and skips it.
type recordingHandler struct {
	mu   sync.Mutex
	recs []connectors.BadRecord
}

func (h *recordingHandler) Handle(_ context.Context, rec connectors.BadRecord) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, rec)
	return nil
}

// TestBadRecordHandler reads files of good and bad records with a handler
// that skips (the runtime's for 'bad-records.policy' = 'skip' or
// 'dead-letter'): the good rows come back exactly, and the handler sees
// each bad record once, with its "path:line" location, the reason, and
// the record's text.
func TestBadRecordHandler(t *testing.T) {
	schema := types.Schema{Fields: []types.Field{{Name: "a", Type: types.BigIntType}, {Name: "b", Type: types.StringType}, {Name: "c", Type: types.TimestampType}}}
	for _, format := range []string{"csv", "json"} {
		t.Run(format, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(11, uint64(len(format))))
			path := filepath.Join(t.TempDir(), "in."+format)
			good, bad := writeMixed(t, r, path, format, 600)
			text, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(string(text), "\n")
			for _, policy := range []string{"skip", "dead-letter"} {
				opts := map[string]string{"path": path, "format": format, connectors.OptBadRecordsPolicy: policy}
				if policy == "dead-letter" {
					opts[connectors.OptBadRecordsDeadLetterTable] = "dlq"
				}
				info := table("t", schema, opts)
				if err := New().ValidateTable(info); err != nil {
					t.Fatal(err)
				}
				src, err := New().NewSource(info)
				if err != nil {
					t.Fatal(err)
				}
				for p := 1; p <= 3; p++ {
					h := &recordingHandler{}
					got, errs := readAll(t, src, p, r, mem, connectors.ReaderContext{BadRecords: h})
					if err := errors.Join(errs...); err != nil {
						t.Fatal(err)
					}
					sameMultiset(t, canonRows(got), append([]string(nil), good...))
					var seen []string
					for _, rec := range h.recs {
						seen = append(seen, rec.Location+": "+rec.Reason)
						var line int
						if _, err := fmt.Sscanf(rec.Location[len(path)+1:], "%d", &line); err != nil || !strings.HasPrefix(rec.Location, path+":") {
							t.Fatalf("location %q is not %s:LINE", rec.Location, path)
						}
						if string(rec.Record) != lines[line-1] {
							t.Fatalf("%s: record %q, the line is %q", rec.Location, rec.Record, lines[line-1])
						}
					}
					// A bad record's expected text is a prefix of what the
					// decoder says (JSON syntax errors go on).
					sort.Strings(seen)
					want := append([]string(nil), bad...)
					sort.Strings(want)
					ok := len(seen) == len(want)
					for i := 0; ok && i < len(seen); i++ {
						ok = strings.HasPrefix(seen[i], want[i])
					}
					if !ok {
						t.Fatalf("the handler saw:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
					}
				}
			}
		})
	}
}

// TestBadRecordOptions: the policy options are the connector's, checked,
// and the old ignore-parse-errors options, aliases of 'skip', do not go
// with 'dead-letter'.
func TestBadRecordOptions(t *testing.T) {
	schema := types.Schema{Fields: []types.Field{{Name: "a", Type: types.BigIntType}}}
	for _, c := range []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{connectors.OptBadRecordsPolicy: "skip"}, ""},
		{map[string]string{connectors.OptBadRecordsPolicy: "dead-letter"}, "needs 'bad-records.dead-letter-table'"},
		{map[string]string{connectors.OptBadRecordsPolicy: "dead-letter", connectors.OptBadRecordsDeadLetterTable: "d", OptCSVIgnoreErrors: "true"}, "set one of them"},
		{map[string]string{connectors.OptBadRecordsPolicy: "skip", OptCSVIgnoreErrors: "true"}, ""},
		{map[string]string{connectors.OptBadRecordsPolicy: "drop"}, "'drop' is not one of"},
	} {
		opts := map[string]string{"path": t.TempDir(), "format": "csv"}
		for k, v := range c.opts {
			opts[k] = v
		}
		err := New().ValidateTable(table("t", schema, opts))
		if (err == nil) != (c.want == "") || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.opts, err, c.want)
		}
	}
}
