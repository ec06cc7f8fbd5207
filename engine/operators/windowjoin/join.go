package windowjoin

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// join joins the rows of one window and emits the result.
func (o *Operator) join(ctx context.Context, w *window, out operator.Collector) error {
	typ := o.spec.Type
	if len(w.recs[0]) == 0 || len(w.recs[1]) == 0 {
		// One side only: no pairs. The outer side's rows come out as they
		// are, padded with NULLs.
		s := 0
		if len(w.recs[0]) == 0 {
			s = 1
		}
		keep := typ == jobgraph.FullJoin || (s == 0 && (typ == jobgraph.LeftJoin || typ == jobgraph.AntiJoin)) ||
			(s == 1 && typ == jobgraph.RightJoin)
		if !keep {
			return nil
		}
		for _, rec := range w.recs[s] {
			var err error
			if s == 0 {
				err = o.emit(ctx, out, rec, nil, nil, nil, int(rec.NumRows()))
			} else {
				err = o.emit(ctx, out, nil, nil, rec, nil, int(rec.NumRows()))
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	var sides [2]arrow.RecordBatch
	for s := range sides {
		rec, err := concat(o, w.recs[s])
		if err != nil {
			return fmt.Errorf("%s rows: %w", sideName[s], err)
		}
		defer rec.Release()
		sides[s] = rec
	}
	L, R := sides[0], sides[1]
	nL, nR := int(L.NumRows()), int(R.NumRows())
	for s, rec := range sides {
		if err := o.keys[s].Encode(rec); err != nil {
			return fmt.Errorf("%s keys: %w", sideName[s], err)
		}
		o.valid[s] = nonNullKeys(rec, o.keyCols(s), o.valid[s][:0])
	}

	// Build: the right rows by key, chained per group in row order.
	t := o.table()
	selR := o.valid[1]
	m := nR
	if selR != nil {
		m = len(selR)
	}
	o.group = grow(o.group, m)
	kr := o.keys[1]
	if _, err := t.FindOrInsert(kr.Hashes, &kr.Rows, selR, o.group[:m]); err != nil {
		return err
	}
	o.head = fill(o.head, t.Len(), -1)
	o.chain = grow(o.chain, nR)
	for k := m - 1; k >= 0; k-- {
		r := int32(k)
		if selR != nil {
			r = selR[k]
		}
		g := o.group[k]
		o.chain[r] = o.head[g]
		o.head[g] = r
	}

	// Probe with the left rows, joining candidate pairs a chunk at a time.
	for s, n := range []int{nL, nR} {
		o.hit[s] = fill(o.hit[s], n, false)
	}
	pairs := typ != jobgraph.SemiJoin && typ != jobgraph.AntiJoin
	flush := func() error {
		if len(o.li) == 0 {
			return nil
		}
		err := o.pairs(ctx, out, L, R, pairs)
		o.li, o.ri = o.li[:0], o.ri[:0]
		return err
	}
	kl := o.keys[0]
	selL := o.valid[0]
	m = nL
	if selL != nil {
		m = len(selL)
	}
	for k := 0; k < m; k++ {
		l := int32(k)
		if selL != nil {
			l = selL[k]
		}
		g, ok := t.Find(kl.Hashes[l], kl.Rows.Row(int(l)))
		if !ok {
			continue
		}
		if !pairs && o.residual == nil {
			o.hit[0][l] = true // SEMI, ANTI: any row of the group matches
			continue
		}
		for r := o.head[g]; r >= 0; r = o.chain[r] {
			o.li = append(o.li, l)
			o.ri = append(o.ri, r)
			if len(o.li) == OutputBatchRows {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}

	// The rows of the outer side(s) that matched nothing, or the rows SEMI
	// and ANTI keep.
	var want [2]int8 // per side: 0 nothing, 1 unmatched rows, 2 matched rows
	switch typ {
	case jobgraph.LeftJoin:
		want[0] = 1
	case jobgraph.RightJoin:
		want[1] = 1
	case jobgraph.FullJoin:
		want = [2]int8{1, 1}
	case jobgraph.SemiJoin:
		want[0] = 2
	case jobgraph.AntiJoin:
		want[0] = 1
	}
	for s, rec := range sides {
		if want[s] == 0 {
			continue
		}
		o.idx = o.idx[:0]
		for i, h := range o.hit[s][:rec.NumRows()] {
			if h == (want[s] == 2) {
				o.idx = append(o.idx, int32(i))
			}
		}
		for lo := 0; lo < len(o.idx); lo += OutputBatchRows {
			idx := o.idx[lo:min(lo+OutputBatchRows, len(o.idx))]
			var err error
			if s == 0 {
				err = o.emit(ctx, out, L, idx, nil, nil, len(idx))
			} else {
				err = o.emit(ctx, out, nil, nil, R, idx, len(idx))
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// pairs applies the residual condition to the candidate pairs (o.li, o.ri),
// marks the rows of the pairs that pass as matched and, when emit is set,
// emits those pairs.
func (o *Operator) pairs(ctx context.Context, out operator.Collector, L, R arrow.RecordBatch, emit bool) error {
	if o.residual != nil {
		n := len(o.li)
		cols := make([]arrow.Array, o.width[0]+o.width[1])
		defer func() {
			for _, c := range cols {
				if c != nil {
					c.Release()
				}
			}
		}()
		for _, c := range o.residual.Columns() {
			var err error
			if c < o.width[0] {
				cols[c], err = expr.Take(L.Column(c), o.li, o.mem)
			} else {
				cols[c], err = expr.Take(R.Column(c-o.width[0]), o.ri, o.mem)
			}
			if err != nil {
				return fmt.Errorf("residual condition: column %d: %w", c, err)
			}
		}
		sel, err := expr.SelectColumns(ctx, o.residual, cols, n, o.mem)
		if err != nil {
			return fmt.Errorf("residual condition: %w", err)
		}
		if !sel.All {
			for k, i := range sel.Indices {
				o.li[k], o.ri[k] = o.li[i], o.ri[i]
			}
			o.li, o.ri = o.li[:len(sel.Indices)], o.ri[:len(sel.Indices)]
		}
	}
	for k, l := range o.li {
		o.hit[0][l] = true
		o.hit[1][o.ri[k]] = true
	}
	if !emit || len(o.li) == 0 {
		return nil
	}
	return o.emit(ctx, out, L, o.li, R, o.ri, len(o.li))
}

// emit sends n output rows: rows lidx of left (all rows when lidx is nil)
// then rows ridx of right, a side being all NULL when its batch is nil. For
// SEMI and ANTI only the left columns are emitted.
func (o *Operator) emit(ctx context.Context, out operator.Collector, left arrow.RecordBatch, lidx []int32, right arrow.RecordBatch, ridx []int32, n int) error {
	cols := make([]arrow.Array, 0, o.out.NumFields())
	release := func() {
		for _, c := range cols {
			c.Release()
		}
	}
	add := func(rec arrow.RecordBatch, idx []int32, off, width int) error {
		for c := 0; c < width; c++ {
			switch {
			case rec == nil:
				cols = append(cols, array.MakeArrayOfNull(o.mem, o.out.Field(off+c).Type, n))
			case idx == nil:
				col := rec.Column(c)
				col.Retain()
				cols = append(cols, col)
			default:
				col, err := expr.Take(rec.Column(c), idx, o.mem)
				if err != nil {
					return fmt.Errorf("column %d: %w", c, err)
				}
				cols = append(cols, col)
			}
		}
		return nil
	}
	if err := add(left, lidx, 0, o.width[0]); err != nil {
		release()
		return err
	}
	if !o.semi() {
		if err := add(right, ridx, o.width[0], o.width[1]); err != nil {
			release()
			return err
		}
	}
	rec := array.NewRecordBatch(o.out, cols, int64(n))
	release()
	return out.Emit(ctx, stream.Batch{Record: rec})
}

// keyCols returns the join key columns of side s.
func (o *Operator) keyCols(s int) []int {
	if s == 0 {
		return o.spec.LeftKeys
	}
	return o.spec.RightKeys
}

// table returns the build-side hash table, emptied.
func (o *Operator) table() *hashtable.Table {
	if o.tbl == nil {
		o.tbl = o.keys[1].NewTable()
	} else {
		o.tbl.Reset(64)
	}
	return o.tbl
}

// nonNullKeys returns the rows of rec with no NULL in the key columns, or
// nil when that is every row. dst is reused.
func nonNullKeys(rec arrow.RecordBatch, keys []int, dst []int32) []int32 {
	hasNull := false
	for _, c := range keys {
		if rec.Column(c).NullN() > 0 {
			hasNull = true
			break
		}
	}
	if !hasNull {
		return nil
	}
	if dst == nil {
		// A non-nil selection even when no row qualifies: nil means
		// "every row".
		dst = make([]int32, 0, rec.NumRows())
	}
	n := int(rec.NumRows())
	for i := 0; i < n; i++ {
		ok := true
		for _, c := range keys {
			if rec.Column(c).IsNull(i) {
				ok = false
				break
			}
		}
		if ok {
			dst = append(dst, int32(i))
		}
	}
	return dst
}

// concat returns the rows of recs as one record batch (retained: the
// caller releases it).
func concat(o *Operator, recs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	if len(recs) == 1 {
		recs[0].Retain()
		return recs[0], nil
	}
	nc := int(recs[0].NumCols())
	cols := make([]arrow.Array, nc)
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	parts := make([]arrow.Array, len(recs))
	rows := int64(0)
	for _, r := range recs {
		rows += r.NumRows()
	}
	for c := 0; c < nc; c++ {
		for i, r := range recs {
			parts[i] = r.Column(c)
		}
		col, err := array.Concatenate(parts, o.mem)
		if err != nil {
			return nil, fmt.Errorf("concatenate column %d: %w", c, err)
		}
		cols[c] = col
	}
	return array.NewRecordBatch(recs[0].Schema(), cols, rows), nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n, n+n/4)
}

// fill returns s resized to n with every element v.
func fill[T any](s []T, n int, v T) []T {
	s = grow(s, n)
	for i := range s {
		s[i] = v
	}
	return s
}
