package filesystem_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/connectortest"
	"github.com/eddy-streaming/eddy/connectors/filesystem"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// formatOptions are the options of a table in format, such that every
// value the suite's generator makes reads back as written (a NULL STRING
// in csv needs a NULL literal).
func formatOptions(dir, format string) map[string]string {
	o := map[string]string{"connector": "filesystem", "path": dir, "format": format}
	if format == "csv" {
		o["csv.null-literal"] = `\N`
	}
	return o
}

// writeTable writes recs into the table through the filesystem sink (two
// writers, small files: Parquet files go whole to readers, and each of up
// to three readers needs some) and closes it.
func writeTable(t testing.TB, info connectors.TableInfo, recs []arrow.RecordBatch) {
	t.Helper()
	wi := info
	wi.Options = map[string]string{filesystem.OptRollingFileSize: "24KB"}
	for k, v := range info.Options {
		wi.Options[k] = v
	}
	sink, err := filesystem.New().NewSink(wi)
	if err != nil {
		t.Fatal(err)
	}
	var ws []connectors.Writer
	for s := range 2 {
		w, err := sink.Writer(context.Background(), connectors.ReaderContext{Subtask: s, Parallelism: 2})
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	for i, rec := range recs {
		if err := ws[i%2].Write(context.Background(), stream.Batch{Record: rec}); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range ws {
		if err := w.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConformance runs the connector conformance suite: the source over
// tables written by the sink (csv and Parquet: json goes through the same
// text reader as csv), the sink with csv, Parquet and changelog-json (a
// retract and an upsert stream), each read back by the source.
func TestConformance(t *testing.T) {
	schema := connectortest.AllTypesSchema()
	for i, format := range []string{"csv", "parquet"} {
		t.Run("source/"+format, func(t *testing.T) {
			connectortest.RunSource(t, connectortest.SourceHarness{
				Factory: filesystem.New(),
				Seed:    uint64(300 + i),
				NewTable: func(t testing.TB, r *rand.Rand) connectortest.SourceTable {
					info := connectors.TableInfo{Name: "t", Schema: schema, Options: formatOptions(filepath.Join(t.TempDir(), "t"), format)}
					var recs []arrow.RecordBatch
					var want []stream.Batch
					g := connectortest.Generator{}
					for range 10 + r.IntN(10) {
						rec := g.Record(r, info.Schema, 100+r.IntN(200), memory.DefaultAllocator)
						recs = append(recs, rec)
						want = append(want, stream.Batch{Record: rec})
					}
					writeTable(t, info, recs)
					return connectortest.SourceTable{Info: info, Want: want}
				},
			})
		})
	}
	readBack := func(t testing.TB, info connectors.TableInfo) []connectortest.Row {
		src, err := filesystem.New().NewSource(info)
		if err != nil {
			t.Fatal(err)
		}
		rd, err := src.Reader(context.Background(), connectors.ReaderContext{Subtask: 0, Parallelism: 1, BatchSize: 512})
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		var rows []connectortest.Row
		for {
			b, err := rd.(connectors.ChangelogReader).NextBatch(context.Background())
			if errors.Is(err, io.EOF) {
				return rows
			}
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, connectortest.Rows(b)...)
			b.Record.Release()
		}
	}
	for i, c := range []struct {
		format    string
		changelog string
	}{{"csv", ""}, {"parquet", ""}, {filesystem.FormatChangelogJSON, "retract"}, {filesystem.FormatChangelogJSON, "upsert"}} {
		t.Run(fmt.Sprintf("sink/%s%s", c.format, c.changelog), func(t *testing.T) {
			connectortest.RunSink(t, connectortest.SinkHarness{
				Factory: filesystem.New(),
				Seed:    uint64(400 + i),
				NewTable: func(t testing.TB) connectors.TableInfo {
					info := connectors.TableInfo{Name: "out", Schema: schema, Options: formatOptions(filepath.Join(t.TempDir(), "out"), c.format)}
					if c.changelog == "upsert" {
						info.PrimaryKey = []int{0}
					}
					return info
				},
				ReadBack:  readBack,
				Changelog: c.changelog,
			})
		})
	}
}
