package connectortest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// Changelog returns a random, well-formed changelog of about n rows of
// schema, keyed by the columns keys: keys are inserted (+I), updated and
// deleted (-D) in a random order. In "retract" mode an update is -U of the
// old row then +U of the new one; in "upsert" mode it is +U alone. A
// deleted key may be inserted again. The key columns should have many
// values (a BIGINT id), since keys are drawn at random.
func (g Generator) Changelog(r *rand.Rand, schema types.Schema, keys []int, mode string, n int, mem memory.Allocator) (stream.Batch, error) {
	if mode != "retract" && mode != "upsert" {
		return stream.Batch{}, fmt.Errorf("connectortest: changelog mode %q (want retract or upsert)", mode)
	}
	if len(keys) == 0 {
		return stream.Batch{}, fmt.Errorf("connectortest: a changelog needs key columns")
	}
	// The key columns are NOT NULL, as a primary key's.
	gs := types.Schema{Fields: slices.Clone(schema.Fields)}
	for _, k := range keys {
		gs.Fields[k].Type.NotNull = true
	}
	pool := g.Record(r, gs, n+1, mem)
	defer pool.Release()
	// The pool rows with distinct keys (random keys may repeat).
	var distinct []int64
	seen := map[string]bool{}
	for i := 0; i < int(pool.NumRows()); i++ {
		var sb strings.Builder
		for _, k := range keys {
			sb.WriteString(Cell(pool.Column(k), i))
			sb.WriteByte('|')
		}
		if !seen[sb.String()] {
			seen[sb.String()] = true
			distinct = append(distinct, int64(i))
		}
	}
	nkeys := int64(len(distinct))
	// Events: row kind, the pool row of the key columns and of the others.
	var kinds []stream.RowKind
	var keyIdx, valIdx []int64
	emit := func(k stream.RowKind, key, val int64) {
		kinds = append(kinds, k)
		keyIdx = append(keyIdx, key)
		valIdx = append(valIdx, val)
	}
	live := map[int64]int64{} // key row -> value row of its current version
	var liveKeys []int64
	next := int64(0) // the next of the distinct keys to insert
	for len(kinds) < n {
		op := r.IntN(10)
		if len(liveKeys) == 0 {
			op = 0
		}
		if next == nkeys && len(liveKeys) == 0 {
			next = 0 // every key was deleted: insert them again
		}
		if op < 4 && next == nkeys {
			op = 4 + r.IntN(6) // every key is live: update or delete
		}
		switch {
		case op < 4:
			k := distinct[next]
			emit(stream.Insert, k, k)
			live[k] = k
			liveKeys = append(liveKeys, k)
			next++
		case op < 8:
			k := liveKeys[r.IntN(len(liveKeys))]
			v := r.Int64N(pool.NumRows())
			if mode == "retract" {
				emit(stream.UpdateBefore, k, live[k])
			}
			emit(stream.UpdateAfter, k, v)
			live[k] = v
		default:
			i := r.IntN(len(liveKeys))
			k := liveKeys[i]
			emit(stream.Delete, k, live[k])
			delete(live, k)
			liveKeys = append(liveKeys[:i], liveKeys[i+1:]...)
		}
	}
	ctx := compute.WithAllocator(context.Background(), mem)
	ki := array.NewInt64Builder(mem)
	defer ki.Release()
	ki.AppendValues(keyIdx, nil)
	kArr := ki.NewArray()
	defer kArr.Release()
	ki.AppendValues(valIdx, nil)
	vArr := ki.NewArray()
	defer vArr.Release()
	cols := make([]arrow.Array, schema.Len())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for c := range cols {
		idx := vArr
		if slices.Contains(keys, c) {
			idx = kArr
		}
		col, err := compute.TakeArray(ctx, pool.Column(c), idx)
		if err != nil {
			return stream.Batch{}, fmt.Errorf("connectortest: changelog column %s: %w", schema.Fields[c].Name, err)
		}
		cols[c] = col
	}
	return stream.Batch{Record: array.NewRecordBatch(schema.Arrow(), cols, int64(len(kinds))), Kinds: kinds}, nil
}

// Materialize applies a changelog to an empty table keyed by the columns
// keys and returns the rows it ends with, as +I rows: +I and +U set a
// key's row, -U and -D remove it.
func Materialize(rows []Row, keys []int) []Row {
	table := map[string]Row{}
	var order []string
	for _, r := range rows {
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = r.Cells[k]
		}
		key := strings.Join(parts, "|")
		switch r.Kind {
		case stream.Insert, stream.UpdateAfter:
			if _, ok := table[key]; !ok {
				order = append(order, key)
			}
			table[key] = Row{Kind: stream.Insert, Cells: r.Cells}
		default:
			delete(table, key)
		}
	}
	var out []Row
	for _, k := range order {
		if r, ok := table[k]; ok {
			out = append(out, r)
			delete(table, k)
		}
	}
	return out
}
