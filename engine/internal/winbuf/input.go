package winbuf

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// Input checks the batches a window operator takes: append-only rows, all
// of the schema of the first batch.
type Input struct {
	// Schema is the schema of the first batch (nil before it).
	Schema *arrow.Schema
}

// Admit checks b and reports whether it has rows. On the first batch it
// calls bind with its schema; what is the operator's work, for messages
// ("window aggregation").
func (in *Input) Admit(b stream.Batch, what string, bind func(*arrow.Schema) error) (bool, error) {
	if b.NumRows() == 0 {
		return false, nil
	}
	for i, k := range b.Kinds {
		if k != stream.Insert {
			return false, fmt.Errorf("row %d is %s: %s takes append-only input (inserts only)", i, k, what)
		}
	}
	s := b.Record.Schema()
	if in.Schema == nil {
		if err := bind(s); err != nil {
			return false, err
		}
		in.Schema = s
	} else if s != in.Schema && !s.Equal(in.Schema) {
		return false, fmt.Errorf("input schema changed from %s to %s", in.Schema, s)
	}
	return true, nil
}

// CountDropped adds nulls and late to the drop counters. The first time
// rows with NULL times are dropped it logs msg with args, once.
func (b *Buffer[W]) CountDropped(nulls, late int, msg string, args ...any) {
	if nulls > 0 {
		b.NullTime.Add(float64(nulls))
		if !b.warnedNull {
			b.warnedNull = true
			b.log.Warn(msg, append([]any{"operator", b.oc.OperatorID}, args...)...)
		}
	}
	if late > 0 {
		b.Late.Add(float64(late))
	}
}

// Split sorts the rows of a batch by window: Add or Drop each row in
// order, then Finish, then take each window's rows.
type Split[K comparable] struct {
	keys    []K
	rowWin  []int32
	sels    [][]int32
	dropped int
}

// Reset prepares s for a batch of n rows.
func (s *Split[K]) Reset(n int) {
	s.keys, s.dropped = s.keys[:0], 0
	if cap(s.rowWin) < n {
		s.rowWin = make([]int32, n, n+n/4)
	}
	s.rowWin = s.rowWin[:n]
}

// Add puts row into window k.
func (s *Split[K]) Add(row int, k K) {
	w := len(s.keys) - 1
	if w < 0 || s.keys[w] != k {
		if w = slices.Index(s.keys, k); w < 0 {
			w = len(s.keys)
			s.keys = append(s.keys, k)
		}
	}
	s.rowWin[row] = int32(w)
}

// Drop leaves row out of every window.
func (s *Split[K]) Drop(row int) {
	s.rowWin[row] = -1
	s.dropped++
}

// Finish builds each window's selection, unless every row went to one
// window.
func (s *Split[K]) Finish() {
	if len(s.keys) == 1 && s.dropped == 0 {
		return
	}
	for len(s.sels) < len(s.keys) {
		s.sels = append(s.sels, nil)
	}
	for i := range s.keys {
		s.sels[i] = s.sels[i][:0]
	}
	for r, w := range s.rowWin {
		if w >= 0 {
			s.sels[w] = append(s.sels[w], int32(r))
		}
	}
}

// Windows returns the windows that rows went to, in order of first row.
func (s *Split[K]) Windows() []K { return s.keys }

// Rows returns the rows of the i-th window, or nil when that is every row
// of the batch.
func (s *Split[K]) Rows(i int) []int32 {
	if len(s.keys) == 1 && s.dropped == 0 {
		return nil
	}
	return s.sels[i]
}

// Keys hashes and encodes the group key columns of batches, a column at a
// time: the hash is the one the hash exchange partitions by.
type Keys struct {
	cols []int
	enc  *rowkey.Encoder
	arrs []arrow.Array
	// Hashes and Rows hold the last batch's key hashes and encoded keys.
	Hashes []uint64
	Rows   rowkey.Rows
}

// NewKeys returns Keys over the given columns of schema s.
func NewKeys(s *arrow.Schema, cols []int) (*Keys, error) {
	types := make([]arrow.DataType, len(cols))
	for i, c := range cols {
		types[i] = s.Field(c).Type
	}
	enc, err := rowkey.NewEncoder(types)
	if err != nil {
		return nil, err
	}
	return &Keys{cols: cols, enc: enc, arrs: make([]arrow.Array, len(cols))}, nil
}

// Encoder returns the key encoder, for decoding keys back into columns.
func (k *Keys) Encoder() *rowkey.Encoder { return k.enc }

// Encode hashes and encodes the keys of every row of rec.
func (k *Keys) Encode(rec arrow.RecordBatch) error {
	n := int(rec.NumRows())
	for i, c := range k.cols {
		k.arrs[i] = rec.Column(c)
	}
	if cap(k.Hashes) < n {
		k.Hashes = make([]uint64, n, n+n/4)
	}
	k.Hashes = k.Hashes[:n]
	if err := keygroup.HashColumns(k.arrs, k.Hashes); err != nil {
		return err
	}
	return k.enc.Encode(k.arrs, n, nil, &k.Rows)
}

// NewTable returns an empty hash table for these keys.
func (k *Keys) NewTable() *hashtable.Table {
	if w := k.enc.FixedWidth(); w > 0 {
		return hashtable.NewFixed(64, w)
	}
	return hashtable.New(64)
}

// Emit builds a record from rb and sends it downstream in slices of at
// most maxRows rows.
func Emit(ctx context.Context, out operator.Collector, rb *array.RecordBuilder, maxRows int) error {
	rec := rb.NewRecordBatch()
	defer rec.Release()
	n := int(rec.NumRows())
	for lo := 0; lo < n; lo += maxRows {
		part := rec.NewSlice(int64(lo), int64(min(lo+maxRows, n)))
		if err := out.Emit(ctx, stream.Batch{Record: part}); err != nil {
			return err
		}
	}
	return nil
}
