package kafka_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/connectortest"
	"github.com/eddy-streaming/eddy/connectors/kafka"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// conformanceCluster starts a kfake cluster for one conformance run; its
// topics are created by newTopic.
func conformanceCluster(t *testing.T) (string, func(t testing.TB, partitions int) string) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	addrs := strings.Join(c.ListenAddrs(), ",")
	var n atomic.Int64
	return addrs, func(t testing.TB, partitions int) string {
		topic := fmt.Sprintf("t%d", n.Add(1))
		cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(addrs, ",")...))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), int32(partitions), 1, nil, topic); err != nil {
			t.Fatal(err)
		}
		return topic
	}
}

// readAll reads a table through its bounded source (read_committed, from
// the start to the end offsets of now), one reader holding every split.
func readAll(t testing.TB, f connectors.SplitSourceFactory, info connectors.TableInfo) []connectortest.Row {
	t.Helper()
	ctx := context.Background()
	ri := info
	ri.Options = map[string]string{}
	for k, v := range info.Options {
		if !strings.HasPrefix(k, "sink.") {
			ri.Options[k] = v
		}
	}
	ri.Options["scan.bounded.mode"] = "latest-offset"
	ri.Options["properties.isolation.level"] = "read_committed"
	if ri.Options["connector"] == "kafka" {
		ri.Options["scan.startup.mode"] = "earliest-offset"
	}
	src, err := f.NewSplitSource(ri)
	if err != nil {
		t.Fatal(err)
	}
	enum, err := src.NewEnumerator(ctx, connectors.EnumeratorContext{Parallelism: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enum.Close()
	splits, _, err := enum.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := src.NewSplitReader(ctx, connectors.ReaderContext{BatchSize: 256, Alloc: memory.DefaultAllocator})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.AddSplits(ctx, splits); err != nil {
		t.Fatal(err)
	}
	var rows []connectortest.Row
	for finished, deadline := 0, time.Now().Add(20*time.Second); finished < len(splits); {
		if time.Now().After(deadline) {
			t.Fatalf("reading %s back: %d of %d partitions finished", info.Options["topic"], finished, len(splits))
		}
		b, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if b.Finished {
			finished++
		}
		if b.Batch.Record != nil {
			rows = append(rows, connectortest.Rows(b.Batch)...)
			b.Batch.Release()
		}
	}
	return rows
}

// TestConformance runs the connector conformance suite: the kafka source
// over topics written by its sink, the kafka sink exactly once (read back
// under read_committed) and at least once, and the upsert-kafka sink with
// an upsert changelog, read back by key.
func TestConformance(t *testing.T) {
	schema := connectortest.AllTypesSchema()
	for i, format := range []string{"json", "csv"} {
		t.Run("source/"+format, func(t *testing.T) {
			addrs, newTopic := conformanceCluster(t)
			connectortest.RunSource(t, connectortest.SourceHarness{
				Factory: kafka.New(),
				Seed:    uint64(500 + i),
				NewTable: func(t testing.TB, r *rand.Rand) connectortest.SourceTable {
					// At least as many partitions as the suite has readers
					// (3), keyed by id so that each gets a fair share: a
					// reader that ends early stops checkpoints.
					opts := map[string]string{"connector": "kafka", "topic": newTopic(t, 3+r.IntN(4)),
						"properties.bootstrap.servers": addrs, "format": format, "key.format": "json", "key.fields": "id",
						"scan.startup.mode": "earliest-offset", "scan.bounded.mode": "latest-offset"}
					if format == "csv" {
						opts["csv.null-literal"] = `\N`
					}
					info := connectors.TableInfo{Name: "t", Schema: schema, Options: opts}
					sink, err := kafka.New().NewSink(info)
					if err != nil {
						t.Fatal(err)
					}
					w, err := sink.Writer(context.Background(), connectors.ReaderContext{Parallelism: 1})
					if err != nil {
						t.Fatal(err)
					}
					var want []stream.Batch
					g := connectortest.Generator{}
					for range 10 + r.IntN(10) {
						b := stream.Batch{Record: g.Record(r, info.Schema, 100+r.IntN(200), memory.DefaultAllocator)}
						if err := w.Write(context.Background(), b); err != nil {
							t.Fatal(err)
						}
						want = append(want, b)
					}
					if err := w.Close(context.Background()); err != nil {
						t.Fatal(err)
					}
					return connectortest.SourceTable{Info: info, Want: want}
				},
			})
		})
	}
	for i, guarantee := range []string{"exactly-once", "at-least-once"} {
		t.Run("sink/"+guarantee, func(t *testing.T) {
			addrs, newTopic := conformanceCluster(t)
			connectortest.RunSink(t, connectortest.SinkHarness{
				Factory: kafka.New(),
				Seed:    uint64(600 + i),
				NewTable: func(t testing.TB) connectors.TableInfo {
					topic := newTopic(t, 3)
					return connectors.TableInfo{Name: "out", Schema: schema, Options: map[string]string{
						"connector": "kafka", "topic": topic, "properties.bootstrap.servers": addrs, "format": "json",
						"sink.delivery-guarantee": guarantee, "sink.transactional-id-prefix": "conformance-" + topic}}
				},
				ReadBack: func(t testing.TB, info connectors.TableInfo) []connectortest.Row {
					return readAll(t, kafka.New(), info)
				},
				AtLeastOnce: guarantee == "at-least-once",
			})
		})
	}
	t.Run("sink/upsert-kafka", func(t *testing.T) {
		addrs, newTopic := conformanceCluster(t)
		connectortest.RunSink(t, connectortest.SinkHarness{
			Factory: kafka.NewUpsert(),
			Seed:    700,
			NewTable: func(t testing.TB) connectors.TableInfo {
				topic := newTopic(t, 3)
				return connectors.TableInfo{Name: "out", Schema: schema, PrimaryKey: []int{0}, Options: map[string]string{
					"connector": "upsert-kafka", "topic": topic, "properties.bootstrap.servers": addrs,
					"key.format": "json", "value.format": "json",
					"sink.delivery-guarantee": "exactly-once", "sink.transactional-id-prefix": "conformance-" + topic}}
			},
			// The topic's final contents: the last value of each key (the
			// rows of a key are in one partition, in order), tombstones
			// deleting.
			ReadBack: func(t testing.TB, info connectors.TableInfo) []connectortest.Row {
				last := map[string]connectortest.Row{}
				var order []string
				for _, r := range readAll(t, kafka.NewUpsert(), info) {
					k := r.Cells[0]
					if _, ok := last[k]; !ok {
						order = append(order, k)
					}
					if r.Kind == stream.Delete {
						last[k] = connectortest.Row{}
						continue
					}
					r.Kind = stream.Insert
					last[k] = r
				}
				var out []connectortest.Row
				for _, k := range order {
					if r := last[k]; r.Cells != nil {
						out = append(out, r)
					}
				}
				return out
			},
			Changelog:    "upsert",
			Materialized: true,
		})
	})
}
