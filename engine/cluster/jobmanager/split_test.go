package jobmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/state/checkpoint"
)

// testRegistry is the registry of the in-process cluster: the built-in
// connectors and the test's split source.
func testRegistry() *connectors.Registry {
	reg := builtin.Registry()
	if err := reg.Register(rangeSplits{}); err != nil {
		panic(err)
	}
	return reg
}

// rangeSplits is the "ranges" split source: split i holds the ids
// [i*n, (i+1)*n) of option 'splits' splits of option 'size' ids each, read
// a few at a time (throttled, so a test can kill a task manager while it
// runs). Its enumerator lists every split at once.
type rangeSplits struct{}

var rangeSchema = types.Schema{Fields: []types.Field{{Name: "id", Type: types.BigIntType}, {Name: "ts", Type: types.TimestampType}}}

func (rangeSplits) Name() string { return "ranges" }
func (rangeSplits) Options() []connectors.OptionSpec {
	return []connectors.OptionSpec{{Key: "splits", Type: connectors.OptInt, Required: true}, {Key: "size", Type: connectors.OptInt, Required: true}}
}
func (rangeSplits) NewSplitSource(info connectors.TableInfo) (connectors.SplitSource, error) {
	k, err1 := strconv.Atoi(info.Options["splits"])
	n, err2 := strconv.Atoi(info.Options["size"])
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("bad options %v", info.Options)
	}
	return &rangeSource{k: k, n: n}, nil
}

type rangeSource struct{ k, n int }

type rangeState struct{ Next, Hi int64 }

func (s *rangeSource) Bounded() bool { return true }
func (s *rangeSource) NewEnumerator(ctx context.Context, ec connectors.EnumeratorContext, cp []byte) (connectors.SplitEnumerator, error) {
	return &rangeEnum{s: s, listed: string(cp) == "listed"}, nil
}
func (s *rangeSource) NewSplitReader(ctx context.Context, rc connectors.ReaderContext) (connectors.SplitReader, error) {
	return &rangeReader{rc: rc, held: map[string]*rangeState{}}, nil
}

type rangeEnum struct {
	s      *rangeSource
	listed bool
}

func (e *rangeEnum) Discover(ctx context.Context) ([]connectors.Split, bool, error) {
	if e.listed {
		return nil, true, nil
	}
	e.listed = true
	var out []connectors.Split
	for i := 0; i < e.s.k; i++ {
		st, _ := json.Marshal(rangeState{Next: int64(i * e.s.n), Hi: int64((i + 1) * e.s.n)})
		out = append(out, connectors.Split{ID: fmt.Sprint("r", i), State: st})
	}
	return out, true, nil
}
func (e *rangeEnum) Snapshot() ([]byte, error) {
	if e.listed {
		return []byte("listed"), nil
	}
	return nil, nil
}
func (e *rangeEnum) Close() error { return nil }

type rangeReader struct {
	rc   connectors.ReaderContext
	held map[string]*rangeState
}

func (r *rangeReader) AddSplits(ctx context.Context, splits []connectors.Split) error {
	for _, s := range splits {
		var st rangeState
		if err := json.Unmarshal(s.State, &st); err != nil {
			return err
		}
		r.held[s.ID] = &st
	}
	return nil
}

func (r *rangeReader) Next(ctx context.Context) (connectors.SplitBatch, error) {
	if len(r.held) == 0 {
		return connectors.SplitBatch{}, nil
	}
	ids := make([]string, 0, len(r.held))
	for id := range r.held {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	id := ids[0]
	st := r.held[id]
	time.Sleep(3 * time.Millisecond)
	hi := min(st.Next+40, st.Hi)
	b := array.NewRecordBuilder(r.rc.Alloc, rangeSchema.Arrow())
	defer b.Release()
	for v := st.Next; v < hi; v++ {
		b.Field(0).(*array.Int64Builder).Append(v)
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(v))
	}
	st.Next = hi
	sb := connectors.SplitBatch{Split: id, Batch: stream.Batch{Record: b.NewRecordBatch()}, Finished: st.Next == st.Hi}
	if sb.Finished {
		delete(r.held, id)
	}
	return sb, nil
}

func (r *rangeReader) Snapshot() ([]connectors.Split, error) {
	var out []connectors.Split
	for id, st := range r.held {
		b, _ := json.Marshal(st)
		out = append(out, connectors.Split{ID: id, State: b})
	}
	return out, nil
}
func (r *rangeReader) Close() error { return nil }

// TestRemoteRunnerSplitSource reads a split source at parallelism 3 on
// three task managers, the job manager's enumerator assigning its splits
// over RPC, into a filesystem sink, with checkpoints; a task manager is
// killed mid-job: the attempt restarts from the latest checkpoint, the
// splits are assigned again with their positions, and the committed
// output holds every id exactly once.
func TestRemoteRunnerSplitSource(t *testing.T) {
	c := startRemoteCluster(t, 3, 2)
	defer c.close()
	dir := t.TempDir()
	st, err := checkpoint.NewDirStorage(filepath.Join(dir, "ck"), 0)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	const splits, size = 7, 3000
	src := &jobgraph.OperatorSpec{ID: "src", Name: "Source(r)", Output: rangeSchema, Source: &jobgraph.SourceSpec{
		TableRef: jobgraph.TableRef{Table: "r", Connector: "ranges", Options: map[string]string{"splits": fmt.Sprint(splits), "size": fmt.Sprint(size)}, Schema: rangeSchema}}}
	sink := &jobgraph.OperatorSpec{ID: "sink", Name: "Sink(out)", Output: rangeSchema, Sink: &jobgraph.SinkSpec{
		TableRef: jobgraph.TableRef{Table: "out", Connector: "filesystem", Options: map[string]string{"path": out, "format": "csv"}, Schema: rangeSchema}}}
	g := &jobgraph.Graph{Name: "ranges", MaxParallelism: jobgraph.DefaultMaxParallelism,
		Vertices: []*jobgraph.Vertex{{ID: "v1", Parallelism: 3, Ops: []*jobgraph.OperatorSpec{src, sink}}}}
	ex, err := c.runner.Start(context.Background(), JobSpec{ID: "splits", Name: "ranges", CheckpointInterval: 100 * time.Millisecond}, g, nil, st)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a checkpoint", 20*time.Second, func() bool { return ex.Status().Checkpoints >= 1 })
	c.tms[2].kill()
	select {
	case <-ex.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("the job did not end: %+v", ex.Status())
	}
	if err := ex.Err(); err != nil {
		t.Fatalf("job: %v", err)
	}
	if s := ex.Status(); s.Restarts < 1 {
		t.Fatalf("the kill caused no restart: %+v", s)
	}
	seen := map[int64]int{}
	files, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasPrefix(f.Name(), ".") || strings.HasPrefix(f.Name(), "_") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(out, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if line == "" {
				continue
			}
			id, err := strconv.ParseInt(strings.Split(line, ",")[0], 10, 64)
			if err != nil {
				t.Fatalf("%s: line %q", f.Name(), line)
			}
			seen[id]++
		}
	}
	for id := int64(0); id < splits*size; id++ {
		if seen[id] != 1 {
			t.Fatalf("id %d written %d times (want exactly once); %d distinct ids of %d", id, seen[id], len(seen), splits*size)
		}
	}
	if len(seen) != splits*size {
		t.Fatalf("%d distinct ids, want %d", len(seen), splits*size)
	}
}
