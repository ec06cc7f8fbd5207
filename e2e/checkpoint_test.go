package e2e

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/state/checkpoint"
)

// ckptCase is a job checked for exactly-once output across failures: its
// SQL (sink into directory out, source tables from opts), the sink's
// changelog columns (nil: an append-only csv sink) and the row-at-a-time
// reference of its visible output.
type ckptCase struct {
	name string
	// tables are the datagen tables the job reads, by name (option maps).
	tables func(rows, rps int, seed int) map[string]map[string]string
	sql    func(out string) string
	// columns of a changelog-json sink, replayed to its final state; nil
	// for a csv sink.
	columns []string
	ref     func(data map[string][]gift) []string
	// spills are the kinds of operators that must have moved state out of
	// memory and read it back (a small 'table.exec.state.cache-size').
	spills []string
}

// checkSpills fails t unless every operator of a kind in c.spills evicted
// and loaded state.
func (c ckptCase) checkSpills(t *testing.T, res *runtime.Result) {
	t.Helper()
	for _, kind := range c.spills {
		found := false
		for _, op := range res.Operators {
			if op.Kind != kind {
				continue
			}
			found = true
			ev, ld := op.Counters["state_cache_evicted"], op.Counters["state_cache_loaded"]
			if ev == 0 || ld == 0 {
				t.Errorf("%s %s evicted %d keys and loaded %d: its state cache was not exercised", kind, op.OperatorID, ev, ld)
			}
		}
		if !found {
			t.Errorf("the job has no %s operator", kind)
		}
	}
}

func oneGiftsTable(rows, rps, seed int) map[string]map[string]string {
	return map[string]map[string]string{"gifts": giftsOpts(rows, rps, 30, seed)}
}

func csvSink(name, cols, out string) string {
	return fmt.Sprintf("CREATE TABLE %s (%s) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');\n", name, cols, out)
}

// flagshipCase is the flagship: 1-minute tumbling gift totals per room and
// gift, Top-3 per room and window.
func flagshipCase() ckptCase {
	return ckptCase{
		name:   "flagship_topn",
		tables: oneGiftsTable,
		sql: func(out string) string {
			return csvSink("top_gifts", "window_start TIMESTAMP(3), window_end TIMESTAMP(3), room_id BIGINT, gift_id INT, total_amount BIGINT, rn BIGINT", out) + `
INSERT INTO top_gifts
SELECT window_start, window_end, room_id, gift_id, total_amount, rn FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, room_id
                               ORDER BY total_amount DESC, gift_id ASC) AS rn
  FROM (
    SELECT window_start, window_end, room_id, gift_id, SUM(amount) AS total_amount
    FROM TABLE(TUMBLE(TABLE gifts, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
    GROUP BY window_start, window_end, room_id, gift_id))
WHERE rn <= 3;
`
		},
		ref: func(d map[string][]gift) []string { return refTopGifts(d["gifts"], 60_000, 3) },
	}
}

// hopCase counts gifts per room in 30-second windows sliding by 10.
func hopCase() ckptCase {
	const slide, size = 10_000, 30_000
	return ckptCase{
		name:   "hop_count",
		tables: oneGiftsTable,
		sql: func(out string) string {
			return csvSink("hop_counts", "window_start TIMESTAMP(3), window_end TIMESTAMP(3), room_id BIGINT, n BIGINT, total BIGINT", out) + `
INSERT INTO hop_counts
SELECT window_start, window_end, room_id, COUNT(*), SUM(amount)
FROM TABLE(HOP(TABLE gifts, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '30' SECOND))
GROUP BY window_start, window_end, room_id;
`
		},
		ref: func(d map[string][]gift) []string {
			type key struct{ ws, room int64 }
			type acc struct{ n, total int64 }
			accs := map[key]*acc{}
			for _, g := range d["gifts"] {
				last := g.Ts - ((g.Ts%slide)+slide)%slide
				for ws := last; ws > g.Ts-size; ws -= slide {
					k := key{ws, g.Room}
					a := accs[k]
					if a == nil {
						a = &acc{}
						accs[k] = a
					}
					a.n++
					a.total += g.Amount
				}
			}
			var out []string
			for k, a := range accs {
				out = append(out, fmt.Sprintf("+I|%d|%d|%d|%d|%d", k.ws, k.ws+size, k.room, a.n, a.total))
			}
			return out
		},
	}
}

// sessionCase sums gifts per room over session windows with a 2-second gap.
func sessionCase() ckptCase {
	const gap = 2_000
	return ckptCase{
		name:   "session",
		tables: oneGiftsTable,
		sql: func(out string) string {
			return csvSink("sessions", "window_start TIMESTAMP(3), window_end TIMESTAMP(3), room_id BIGINT, n BIGINT, total BIGINT", out) + `
INSERT INTO sessions
SELECT window_start, window_end, room_id, COUNT(*), SUM(amount)
FROM TABLE(SESSION(TABLE gifts PARTITION BY room_id, DESCRIPTOR(ts), INTERVAL '2' SECOND))
GROUP BY window_start, window_end, room_id;
`
		},
		ref: func(d map[string][]gift) []string {
			byRoom := map[int64][]gift{}
			for _, g := range d["gifts"] {
				byRoom[g.Room] = append(byRoom[g.Room], g)
			}
			var out []string
			for room, gs := range byRoom {
				sort.Slice(gs, func(i, j int) bool { return gs[i].Ts < gs[j].Ts })
				for lo := 0; lo < len(gs); {
					hi, total := lo+1, gs[lo].Amount
					for hi < len(gs) && gs[hi].Ts <= gs[hi-1].Ts+gap { // sessions that touch merge
						total += gs[hi].Amount
						hi++
					}
					out = append(out, fmt.Sprintf("+I|%d|%d|%d|%d|%d", gs[lo].Ts, gs[hi-1].Ts+gap, room, hi-lo, total))
					lo = hi
				}
			}
			return out
		},
	}
}

// groupAggCase is an updating aggregate (GROUP BY without windows) into a
// changelog-json sink (a retract stream), replayed to its final state.
func groupAggCase() ckptCase {
	return ckptCase{
		name:   "group_agg",
		tables: oneGiftsTable,
		sql: func(out string) string {
			return fmt.Sprintf(`
CREATE TABLE totals (room_id BIGINT, gift_id INT, n BIGINT, total BIGINT, max_qty INT)
WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'changelog-json');
INSERT INTO totals
SELECT room_id, gift_id, COUNT(*), SUM(amount), MAX(quantity) FROM gifts GROUP BY room_id, gift_id;
`, out)
		},
		columns: []string{"room_id", "gift_id", "n", "total", "max_qty"},
		ref: func(d map[string][]gift) []string {
			type key struct {
				room int64
				gift int32
			}
			type acc struct {
				n, total int64
				maxQ     int32
				anyQ     bool
			}
			accs := map[key]*acc{}
			for _, g := range d["gifts"] {
				k := key{g.Room, g.Gift}
				a := accs[k]
				if a == nil {
					a = &acc{}
					accs[k] = a
				}
				a.n++
				a.total += g.Amount
				if !g.QtyNull && (!a.anyQ || g.Qty > a.maxQ) {
					a.maxQ, a.anyQ = g.Qty, true
				}
			}
			var out []string
			for k, a := range accs {
				q := "null"
				if a.anyQ {
					q = fmt.Sprint(a.maxQ)
				}
				out = append(out, fmt.Sprintf("+I|%d|%d|%d|%d|%s", k.room, k.gift, a.n, a.total, q))
			}
			return out
		},
	}
}

// spillingCase is an updating aggregate (totals per room and user) feeding
// an updating Top-3 per room, with a state cache of 32 keys per operator
// subtask over thousands of groups and 200 rooms: both operators evict to
// Pebble and read back all the time, across checkpoints and restores.
func spillingCase() ckptCase {
	return ckptCase{
		name: "spilling_topn",
		tables: func(rows, rps, seed int) map[string]map[string]string {
			return map[string]map[string]string{"gifts": giftsOpts(rows, rps, 200, seed)}
		},
		sql: func(out string) string {
			return fmt.Sprintf(`
SET 'table.exec.state.cache-size' = '32';
CREATE TABLE top_users (room_id BIGINT, user_id BIGINT, total BIGINT, rn BIGINT)
WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'changelog-json');
INSERT INTO top_users
SELECT room_id, user_id, total, rn FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY room_id ORDER BY total DESC, user_id ASC) AS rn
  FROM (SELECT room_id, user_id, SUM(amount) AS total FROM gifts GROUP BY room_id, user_id))
WHERE rn <= 3;
`, out)
		},
		columns: []string{"room_id", "user_id", "total", "rn"},
		spills:  []string{"group_agg", "rank"},
		ref: func(d map[string][]gift) []string {
			type key struct{ room, user int64 }
			totals := map[key]int64{}
			for _, g := range d["gifts"] {
				totals[key{g.Room, g.User}] += g.Amount
			}
			byRoom := map[int64][]key{}
			for k := range totals {
				byRoom[k.room] = append(byRoom[k.room], k)
			}
			var out []string
			for room, ks := range byRoom {
				slices.SortFunc(ks, func(a, b key) int {
					if totals[a] != totals[b] {
						return cmp.Compare(totals[b], totals[a])
					}
					return cmp.Compare(a.user, b.user)
				})
				for i, k := range ks[:min(3, len(ks))] {
					out = append(out, fmt.Sprintf("+I|%d|%d|%d|%d", room, k.user, totals[k], i+1))
				}
			}
			return out
		},
	}
}

// intervalJoinCase joins two gift streams on the user within a second of
// each other.
func intervalJoinCkptCase() ckptCase {
	return ckptCase{
		name: "interval_join",
		tables: func(rows, rps, seed int) map[string]map[string]string {
			return map[string]map[string]string{
				"ga": giftsOpts(rows/2, rps/2, 30, seed),
				"gb": giftsOpts(rows/2, rps/2, 30, seed+1000),
			}
		},
		sql: func(out string) string {
			return csvSink("pairs", "user_id BIGINT, a_room BIGINT, a_gift INT, a_ts TIMESTAMP(3), b_room BIGINT, b_gift INT, b_ts TIMESTAMP(3)", out) + `
INSERT INTO pairs
SELECT A.user_id, A.room_id, A.gift_id, A.ts, B.room_id, B.gift_id, B.ts
FROM ga A JOIN gb B
ON A.user_id = B.user_id AND A.ts BETWEEN B.ts - INTERVAL '1' SECOND AND B.ts + INTERVAL '1' SECOND;
`
		},
		ref: func(d map[string][]gift) []string {
			byUser := map[int64][]gift{}
			for _, g := range d["gb"] {
				byUser[g.User] = append(byUser[g.User], g)
			}
			var out []string
			for _, a := range d["ga"] {
				for _, b := range byUser[a.User] {
					if a.Ts >= b.Ts-1000 && a.Ts <= b.Ts+1000 {
						out = append(out, fmt.Sprintf("+I|%d|%d|%d|%d|%d|%d|%d", a.User, a.Room, a.Gift, a.Ts, b.Room, b.Gift, b.Ts))
					}
				}
			}
			return out
		},
	}
}

func ckptCases() []ckptCase {
	return []ckptCase{flagshipCase(), hopCase(), sessionCase(), groupAggCase(), intervalJoinCkptCase(), spillingCase()}
}

// script returns the case's full SQL.
func (c ckptCase) script(tables map[string]map[string]string, out string) string {
	names := make([]string, 0, len(tables))
	for n := range tables {
		names = append(names, n)
	}
	sort.Strings(names)
	var sb strings.Builder
	for _, n := range names {
		sb.WriteString(giftsTableDDL(n, tables[n]))
	}
	sb.WriteString(c.sql(out))
	return sb.String()
}

// want computes the reference from the tables' generated rows.
func (c ckptCase) want(t *testing.T, tables map[string]map[string]string) []string {
	t.Helper()
	data := map[string][]gift{}
	for n, o := range tables {
		data[n] = readGifts(t, o)
	}
	w := c.ref(data)
	if len(w) == 0 {
		t.Fatal("reference is empty: the test data is broken")
	}
	return w
}

// output reads the case's visible output.
func (c ckptCase) output(t testing.TB, out string) []string {
	t.Helper()
	if c.columns != nil {
		return replayChangelog(t, out, c.columns)
	}
	return readCSVOutput(t, out)
}

// TestExactlyOnceUnderInjectedFaults runs each case with 100 ms
// checkpoints while sources and sinks fail at random points (reads,
// writes, prepares and commits), each failure after a new checkpoint has
// completed; the runtime restarts the job in process from its latest
// checkpoint every time. The visible output must equal the reference: no
// row lost, none doubled.
func TestExactlyOnceUnderInjectedFaults(t *testing.T) {
	trials, nFaults := 1, 3
	ps := []int{2}
	if longCheckpointTests() {
		trials, nFaults, ps = 3, 6, []int{1, 2, 3}
	}
	const rows, rps = 40_000, 40_000
	for _, c := range ckptCases() {
		for _, p := range ps {
			for trial := range trials {
				seed := 17 + trial*31 + p
				t.Run(fmt.Sprintf("%s/p%d/seed%d", c.name, p, seed), func(t *testing.T) {
					tables := c.tables(rows, rps, seed)
					want := c.want(t, tables)
					dir := t.TempDir()
					ck, out := filepath.Join(dir, "ck"), filepath.Join(dir, "out")
					f := newFaults(uint64(seed), nFaults, 3, 25, newestCheckpoint(ck))
					f.anyTime = trial%2 == 1
					res, logs, err := ckptRun{script: c.script(tables, out), parallelism: p, ckDir: ck, interval: 100 * time.Millisecond, f: f}.run(t)
					if err != nil {
						t.Fatalf("run: %v\nlogs:\n%s", err, tail(logs, 40))
					}
					if f.count() == 0 {
						t.Fatalf("no fault was injected (checkpoints %d): the test proves nothing", res.Checkpoints)
					}
					if res.Restarts != f.count() {
						t.Errorf("restarts = %d, injected faults = %d (%v)", res.Restarts, f.count(), f.injected)
					}
					if res.LateRecordsDropped != 0 {
						t.Errorf("late records dropped = %d, want 0", res.LateRecordsDropped)
					}
					t.Logf("faults %d, checkpoints %d (failed %d), restarts %d", f.count(), res.Checkpoints, res.CheckpointsFailed, res.Restarts)
					assertSameRows(t, c.output(t, out), want)
					checkNoHidden(t, out)
					c.checkSpills(t, res)
				})
			}
		}
	}
}

// stopAfterCheckpoints runs a job at parallelism p until n checkpoints
// have completed, then cancels it (a crash: no final commit). It returns
// the checkpoint storage directory's newest checkpoint ID.
func stopAfterCheckpoints(t *testing.T, script string, p int, ck string, n int64) int64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	newest := newestCheckpoint(ck)
	go func() {
		for ctx.Err() == nil {
			if newest() >= n {
				cancel()
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	_, logs, err := ckptRun{script: script, parallelism: p, ckDir: ck, interval: 100 * time.Millisecond, ctx: ctx}.run(t)
	if err == nil {
		t.Fatalf("the job finished before %d checkpoints completed: make the input longer\nlogs:\n%s", n, tail(logs, 20))
	}
	if ctx.Err() == nil {
		t.Fatalf("run: %v\nlogs:\n%s", err, tail(logs, 40))
	}
	return newest()
}

// TestRescaleFromCheckpoint takes checkpoints at parallelism 2, stops the
// job (cancelled, as by a crash) and resumes it from its latest checkpoint
// at parallelism 4 and at 1 (key groups regrouped, sources resumed from
// every old reader's position, the sink recovering the old writers'
// output).
func TestRescaleFromCheckpoint(t *testing.T) {
	cases := []ckptCase{flagshipCase(), groupAggCase(), spillingCase()}
	if longCheckpointTests() {
		cases = ckptCases()
	}
	const rows, rps = 40_000, 40_000
	for _, c := range cases {
		for _, to := range []int{4, 1} {
			t.Run(fmt.Sprintf("%s/p2_to_p%d", c.name, to), func(t *testing.T) {
				seed := 5 + to
				tables := c.tables(rows, rps, seed)
				want := c.want(t, tables)
				dir := t.TempDir()
				ck, out := filepath.Join(dir, "ck"), filepath.Join(dir, "out")
				script := c.script(tables, out)
				id := stopAfterCheckpoints(t, script, 2, ck, 3)
				st, err := checkpoint.NewDirStorage(ck, 0)
				if err != nil {
					t.Fatal(err)
				}
				m, skipped, err := checkpoint.FindRestore(context.Background(), st, ck)
				if err != nil || m == nil || len(skipped) > 0 {
					t.Fatalf("find restore: m=%v skipped=%v err=%v", m, skipped, err)
				}
				if m.ID != id {
					t.Fatalf("restoring checkpoint %d, newest is %d", m.ID, id)
				}
				res, logs, err := ckptRun{script: script, parallelism: to, ckDir: ck, interval: 100 * time.Millisecond, restore: m}.run(t)
				if err != nil {
					t.Fatalf("restore at p%d: %v\nlogs:\n%s", to, err, tail(logs, 40))
				}
				t.Logf("restored checkpoint %d at p%d; %d more checkpoints", m.ID, to, res.Checkpoints)
				assertSameRows(t, c.output(t, out), want)
				checkNoHidden(t, out)
			})
		}
	}
}

// uniqueFiles returns the shared files newest references that no other
// intact checkpoint in the storage does.
func uniqueFiles(st checkpoint.Storage, newest *checkpoint.Metadata) ([]checkpoint.FileRef, error) {
	ids, err := st.List(context.Background())
	if err != nil {
		return nil, err
	}
	others := map[string]bool{}
	for _, id := range ids {
		if id == newest.ID {
			continue
		}
		m, err := st.Load(context.Background(), fmt.Sprint(id))
		if err != nil {
			continue
		}
		for _, f := range m.Files() {
			others[f.Name] = true
		}
	}
	var out []checkpoint.FileRef
	for _, f := range newest.Files() {
		if !others[f.Name] {
			out = append(out, f)
		}
	}
	return out, nil
}

// damage corrupts checkpoint m in storage directory ck the given way:
// "truncate-metadata", "flip-metadata" (a byte of its JSON changed),
// "truncate-shared" or "flip-shared" (a file only m references: cut in
// half, or one byte changed keeping the size).
func damage(ck string, st checkpoint.Storage, m *checkpoint.Metadata, how string) (string, error) {
	meta := filepath.Join(ck, fmt.Sprintf("chk-%d", m.ID), checkpoint.MetadataName)
	target := meta
	if strings.HasSuffix(how, "-shared") {
		u, err := uniqueFiles(st, m)
		if err != nil {
			return "", err
		}
		if len(u) == 0 {
			return "", fmt.Errorf("checkpoint %d references no file of its own", m.ID)
		}
		// The largest: a data file rather than a tiny marker.
		slices.SortFunc(u, func(a, b checkpoint.FileRef) int { return int(b.Size - a.Size) })
		target = filepath.Join(ck, "shared", u[0].Name)
	}
	data, err := os.ReadFile(target)
	if err != nil {
		return "", err
	}
	if len(data) < 2 {
		return "", fmt.Errorf("%s has %d bytes: nothing to damage", target, len(data))
	}
	if strings.HasPrefix(how, "truncate") {
		data = data[:len(data)/2]
	} else {
		data[len(data)-len(data)/3] ^= 0x55
	}
	return target, os.WriteFile(target, data, 0o644)
}

// TestCorruptCheckpointFallsBack damages the newest checkpoint of a
// stopped job (its metadata, or a shared file no other checkpoint has) and
// resumes it as jobmanager does (checkpoint.FindRestore on the directory):
// the previous checkpoint is used, the damaged one is reported, and the
// output is exactly once.
func TestCorruptCheckpointFallsBack(t *testing.T) {
	const rows, rps = 40_000, 40_000
	c := flagshipCase()
	for i, how := range []string{"truncate-metadata", "flip-metadata", "truncate-shared", "flip-shared"} {
		t.Run(how, func(t *testing.T) {
			seed := 300 + i
			tables := c.tables(rows, rps, seed)
			want := c.want(t, tables)
			dir := t.TempDir()
			ck, out := filepath.Join(dir, "ck"), filepath.Join(dir, "out")
			script := c.script(tables, out)
			stopAfterCheckpoints(t, script, 2, ck, 3)
			st, err := checkpoint.NewDirStorage(ck, 0)
			if err != nil {
				t.Fatal(err)
			}
			newest, _, err := st.Latest(context.Background())
			if err != nil || newest == nil {
				t.Fatalf("latest: %v %v", newest, err)
			}
			ids, _ := st.List(context.Background())
			target, err := damage(ck, st, newest, how)
			if err != nil {
				t.Fatal(err)
			}
			m, skipped, err := checkpoint.FindRestore(context.Background(), st, ck)
			if err != nil || m == nil {
				t.Fatalf("find restore after damaging %s: m=%v err=%v", target, m, err)
			}
			if m.ID >= newest.ID {
				t.Fatalf("restore picked checkpoint %d after %s of checkpoint %d (%s); kept %v", m.ID, how, newest.ID, target, ids)
			}
			if len(skipped) == 0 {
				t.Errorf("the damaged checkpoint %d was not reported", newest.ID)
			}
			t.Logf("damaged %s; restoring %d; skipped: %v", filepath.Base(target), m.ID, skipped)
			_, logs, err := ckptRun{script: script, parallelism: 2, ckDir: ck, interval: 100 * time.Millisecond, restore: m}.run(t)
			if err != nil {
				t.Fatalf("restore: %v\nlogs:\n%s", err, tail(logs, 40))
			}
			assertSameRows(t, c.output(t, out), want)
			checkNoHidden(t, out)
		})
	}
}

// TestCorruptCheckpointOnInProcessRestart damages the newest checkpoint
// right before an injected failure: the runtime's restart must skip it
// (and log that), resume from the one before, and still produce every row
// exactly once.
func TestCorruptCheckpointOnInProcessRestart(t *testing.T) {
	const rows, rps = 40_000, 40_000
	c := flagshipCase()
	for i, how := range []string{"truncate-metadata", "flip-shared"} {
		t.Run(how, func(t *testing.T) {
			seed := 400 + i
			tables := c.tables(rows, rps, seed)
			want := c.want(t, tables)
			dir := t.TempDir()
			ck, out := filepath.Join(dir, "ck"), filepath.Join(dir, "out")
			newest := newestCheckpoint(ck)
			var damaged []string
			// The fault fires once checkpoint 3 is complete; damage it then.
			f := newFaults(uint64(seed), 1, 1, 1, func() int64 {
				id := newest()
				if id < 3 {
					return 0
				}
				if len(damaged) == 0 {
					st, err := checkpoint.NewDirStorage(ck, 0)
					if err != nil {
						t.Error(err)
						return id
					}
					m, err := st.Load(context.Background(), fmt.Sprint(id))
					if err != nil {
						t.Error(err)
						return id
					}
					target, err := damage(ck, st, m, how)
					if err != nil {
						t.Error(err)
					}
					damaged = append(damaged, fmt.Sprintf("chk-%d: %s", id, filepath.Base(target)))
				}
				return id
			})
			res, logs, err := ckptRun{script: c.script(tables, out), parallelism: 2, ckDir: ck, interval: 100 * time.Millisecond, f: f}.run(t)
			if err != nil {
				t.Fatalf("run: %v (damaged %v)\nlogs:\n%s", err, damaged, tail(logs, 40))
			}
			if f.count() != 1 || res.Restarts != 1 {
				t.Fatalf("faults %d, restarts %d, want 1 and 1", f.count(), res.Restarts)
			}
			if !strings.Contains(logs, "skipping a damaged checkpoint") {
				t.Errorf("no log line says the damaged checkpoint (%v) was skipped; logs:\n%s", damaged, tail(logs, 30))
			}
			t.Logf("damaged %v", damaged)
			assertSameRows(t, c.output(t, out), want)
			checkNoHidden(t, out)
		})
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
