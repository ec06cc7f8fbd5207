package push

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// testSchema has a column of every type.
var testSchema = types.Schema{Fields: []types.Field{
	{Name: "room_id", Type: types.BigIntType},
	{Name: "n", Type: types.IntType},
	{Name: "name", Type: types.StringType},
	{Name: "score", Type: types.DoubleType},
	{Name: "price", Type: types.DecimalType(10, 2)},
	{Name: "ok", Type: types.BooleanType},
	{Name: "ts", Type: types.TimestampType},
}}

// randomBatch builds a batch of n random rows and, independently, each
// row's expected JSON values (as encoding/json decodes them, numbers as
// json.Number text) and kind.
func randomBatch(r *rand.Rand, mem memory.Allocator, n int) (stream.Batch, []map[string]any, []string) {
	b := array.NewRecordBuilder(mem, testSchema.Arrow())
	defer b.Release()
	want := make([]map[string]any, n)
	kinds := make([]stream.RowKind, n)
	kindText := make([]string, n)
	strs := []string{"", "a", "héllo", `quo"te`, "back\\slash", "new\nline", "tab\t", "日本", "\x01ctl"}
	for i := range n {
		w := map[string]any{}
		null := func() bool { return r.IntN(6) == 0 }
		if v := int64(r.IntN(50)) - 3; !null() {
			b.Field(0).(*array.Int64Builder).Append(v)
			w["room_id"] = json.Number(strconv.FormatInt(v, 10))
		} else {
			b.Field(0).AppendNull()
			w["room_id"] = nil
		}
		if v := int32(r.Uint32()); !null() {
			b.Field(1).(*array.Int32Builder).Append(v)
			w["n"] = json.Number(strconv.FormatInt(int64(v), 10))
		} else {
			b.Field(1).AppendNull()
			w["n"] = nil
		}
		if !null() {
			s := strs[r.IntN(len(strs))]
			b.Field(2).(*array.StringBuilder).Append(s)
			w["name"] = s
		} else {
			b.Field(2).AppendNull()
			w["name"] = nil
		}
		switch x := r.IntN(8); {
		case x == 0:
			b.Field(3).AppendNull()
			w["score"] = nil
		case x == 1:
			b.Field(3).(*array.Float64Builder).Append(math.NaN())
			w["score"] = "NaN"
		case x == 2:
			b.Field(3).(*array.Float64Builder).Append(math.Inf(-1))
			w["score"] = "-Infinity"
		default:
			v := float64(r.IntN(2000)-1000) / 8
			b.Field(3).(*array.Float64Builder).Append(v)
			w["score"] = v // compared as a float
		}
		if !null() {
			cents := r.Int64N(2_000_000) - 1_000_000
			b.Field(4).(*array.Decimal128Builder).Append(decimal128.FromI64(cents))
			sign := ""
			if cents < 0 {
				sign, cents = "-", -cents
			}
			w["price"] = json.Number(fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100))
		} else {
			b.Field(4).AppendNull()
			w["price"] = nil
		}
		if !null() {
			v := r.IntN(2) == 0
			b.Field(5).(*array.BooleanBuilder).Append(v)
			w["ok"] = v
		} else {
			b.Field(5).AppendNull()
			w["ok"] = nil
		}
		if !null() {
			ms := r.Int64N(4_000_000_000_000)
			b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(ms))
			w["ts"] = time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000")
		} else {
			b.Field(6).AppendNull()
			w["ts"] = nil
		}
		kinds[i] = stream.RowKind(r.IntN(4))
		kindText[i] = kinds[i].String()
		want[i] = w
	}
	return stream.Batch{Record: b.NewRecordBatch(), Kinds: kinds}, want, kindText
}

// decodeRow decodes a row's JSON with numbers kept as text; doubles are
// turned into float64 for comparison.
func decodeRow(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("row %s: %v", b, err)
	}
	if n, ok := m["score"].(json.Number); ok {
		f, err := n.Float64()
		if err != nil {
			t.Fatal(err)
		}
		m["score"] = f
	}
	return m
}

// TestEncode compares the column-wise encoding of random batches of every
// type with values built row by row from the same Go values.
func TestEncode(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(11, 12))
	e := newEncoder(testSchema, 0, []int{0, 2})
	for range 20 {
		n := r.IntN(200)
		b, want, kinds := randomBatch(r, mem, n)
		rows, err := e.encode(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != n {
			t.Fatalf("%d rows, want %d", len(rows), n)
		}
		seenPK := map[string]string{}
		for i, row := range rows {
			got := decodeRow(t, row.Json)
			if fmt.Sprint(got) != fmt.Sprint(want[i]) {
				t.Fatalf("row %d: got %s\nwant %v", i, row.Json, want[i])
			}
			if row.Kind != kinds[i] {
				t.Fatalf("row %d: kind %s, want %s", i, row.Kind, kinds[i])
			}
			wantKey, wantNull := "", want[i]["room_id"] == nil
			if !wantNull {
				wantKey = string(want[i]["room_id"].(json.Number))
			}
			if row.Key != wantKey || row.KeyNull != wantNull {
				t.Fatalf("row %d: key %q null %v, want %q %v", i, row.Key, row.KeyNull, wantKey, wantNull)
			}
			// Equal primary keys encode alike, distinct ones differ.
			pk := fmt.Sprint(want[i]["room_id"], "|", want[i]["name"])
			if prev, ok := seenPK[string(row.PrimaryKey)]; ok && prev != pk {
				t.Fatalf("primary keys %s and %s encode alike: %q", prev, pk, row.PrimaryKey)
			}
			seenPK[string(row.PrimaryKey)] = pk
		}
		b.Release()
	}
}

// TestValidate: 'key-column' must name a column (default: the first
// primary key column), 'buffer-size' must be positive.
func TestValidate(t *testing.T) {
	f := New(nil)
	info := func(opts map[string]string, pk ...int) connectors.TableInfo {
		return connectors.TableInfo{Name: "lb", Schema: testSchema, Options: opts, PrimaryKey: pk}
	}
	for _, c := range []struct {
		info connectors.TableInfo
		err  string // "" : valid
		key  string
	}{
		{info(map[string]string{"key-column": "name"}), "", "name"},
		{info(map[string]string{}, 2, 0), "", "name"},
		{info(map[string]string{}), "", ""},
		{info(map[string]string{"key-column": "nope"}), "option 'key-column': table lb has no column 'nope'", ""},
		{info(map[string]string{"buffer-size": "0"}), "option 'buffer-size': 0 is out of range", ""},
		{info(map[string]string{"buffer-size": "x"}), "option 'buffer-size': 'x' is not a valid int", ""},
		{info(map[string]string{"bogus": "1"}), "unknown option 'bogus'", ""},
	} {
		err := f.ValidateTable(c.info)
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Fatalf("%v: got %v, want %q", c.info.Options, err, c.err)
		}
		if c.err == "" {
			cfg, _ := f.config(c.info)
			if cfg.keyColumn != c.key {
				t.Fatalf("%v: key column %q, want %q", c.info.Options, cfg.keyColumn, c.key)
			}
		}
	}
	if err := f.AcceptsUpdates(info(nil)); err != nil {
		t.Fatal(err)
	}
	s, err := f.NewSink(info(map[string]string{}, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Writer(context.Background(), connectors.ReaderContext{}); err == nil || !strings.Contains(err.Error(), "no push hub") {
		t.Fatalf("a writer without a publisher: %v", err)
	}
}

// rawMsg is a message with its row kept as JSON text.
type rawMsg struct {
	Kind  string          `json:"kind"`
	Row   json.RawMessage `json:"row"`
	Token string          `json:"token"`
}

// collect reads everything sub has now.
func collect(t *testing.T, sub *Subscription) []rawMsg {
	t.Helper()
	var out []rawMsg
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		msgs, err := sub.Next(ctx)
		cancel()
		if err == context.DeadlineExceeded {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			var rm rawMsg
			if err := json.Unmarshal(m, &rm); err != nil {
				t.Fatalf("message %s: %v", m, err)
			}
			out = append(out, rm)
		}
	}
}

// sameRows fails unless msgs carry exactly rows, in order.
func sameRows(t *testing.T, what string, msgs []rawMsg, rows []string) {
	t.Helper()
	if len(msgs) != len(rows) {
		t.Fatalf("%s: %d messages, want %d", what, len(msgs), len(rows))
	}
	for i, m := range msgs {
		if string(m.Row) != rows[i] {
			t.Fatalf("%s: message %d is %s, want %s", what, i, m.Row, rows[i])
		}
	}
}

// TestTwoPhase: with checkpointing, rows become visible at Commit (not at
// Write or Prepare), a replayed commit is ignored, a recovery publishes
// what was prepared and not committed exactly once, Close publishes the
// rest and Abort drops it. The reference is the written rows themselves.
func TestTwoPhase(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(5, 6))
	hub := NewHub()
	f := New(hub)
	sink, err := f.NewSink(connectors.TableInfo{Name: "tbl", Schema: testSchema, Options: map[string]string{"key-column": "room_id"}})
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := hub.Subscribe("tbl", SubscribeOptions{})
	var all []string // every written row's JSON, in order
	open := func(subtask int) connectors.TwoPhaseWriter {
		w, err := sink.Writer(ctx, connectors.ReaderContext{Subtask: subtask, Checkpointing: true})
		if err != nil {
			t.Fatal(err)
		}
		return w.(connectors.TwoPhaseWriter)
	}
	write := func(w connectors.Writer) []string {
		b, _, _ := randomBatch(r, mem, 1+r.IntN(50))
		defer b.Release()
		rows, _ := newEncoder(testSchema, 0, nil).encode(b)
		if err := w.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, row := range rows {
			out = append(out, string(row.Json))
		}
		return out
	}
	expect := func(what string, want []string) {
		t.Helper()
		sameRows(t, what, collect(t, sub), want)
	}
	w := open(0)
	var pending []string
	var lastCommittable []byte
	for id := int64(1); id <= 5; id++ {
		for range 1 + r.IntN(3) {
			pending = append(pending, write(w)...)
		}
		expect("after writes", nil)
		c, err := w.Prepare(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		expect("after prepare", nil)
		if err := w.Commit(ctx, id, c); err != nil {
			t.Fatal(err)
		}
		expect("after commit", pending)
		all = append(all, pending...)
		pending = nil
		if err := w.Commit(ctx, id, c); err != nil { // replayed
			t.Fatal(err)
		}
		expect("after a replayed commit", nil)
		lastCommittable = c
	}
	// A crash after prepare: the recovery publishes it once.
	pending = write(w)
	c6, err := w.Prepare(ctx, 6)
	if err != nil {
		t.Fatal(err)
	}
	_ = write(w) // after the checkpoint: lost with the crash
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	rs := sink.(connectors.RecoverableSink)
	if err := rs.Recover(ctx, [][]byte{lastCommittable, c6}); err != nil {
		t.Fatal(err)
	}
	expect("after recovery", pending)
	all = append(all, pending...)
	if err := rs.Recover(ctx, [][]byte{c6}); err != nil {
		t.Fatal(err)
	}
	expect("after a second recovery", nil)
	if err := rs.Recover(ctx, [][]byte{[]byte("garbage")}); err == nil {
		t.Fatal("a malformed committable was accepted")
	}
	// The restored writer goes on; Close publishes its last rows.
	w = open(0)
	pending = write(w)
	expect("before close", nil)
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	expect("after close", pending)
	all = append(all, pending...)

	// Without checkpointing every Write publishes.
	w2, err := sink.Writer(ctx, connectors.ReaderContext{Subtask: 1})
	if err != nil {
		t.Fatal(err)
	}
	pending = write(w2)
	expect("a write without checkpointing", pending)
	all = append(all, pending...)

	// The whole stream, from the start, is every row in order.
	s2, _ := hub.Subscribe("tbl", SubscribeOptions{Token: hub.Epoch() + ".0"})
	sameRows(t, "the whole stream", collect(t, s2), all)
}
