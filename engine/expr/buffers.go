package expr

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// fixed is the set of Go types that back Eddy's fixed-width Arrow columns:
// INT (int32), BIGINT, TIMESTAMP and INTERVAL (int64), DOUBLE (float64) and
// DECIMAL (decimal128.Num).
type fixed interface {
	int32 | int64 | float64 | decimal128.Num
}

// newBuffer allocates a buffer of nbytes from mem.
func newBuffer(mem memory.Allocator, nbytes int) *memory.Buffer {
	b := memory.NewResizableBuffer(mem)
	b.Resize(nbytes)
	return b
}

// newValues allocates a values buffer for n elements of T.
func newValues[T fixed](mem memory.Allocator, n int) (*memory.Buffer, []T) {
	var z T
	size := int(unsafe.Sizeof(z))
	b := newBuffer(mem, n*size)
	if n == 0 {
		return b, nil
	}
	return b, arrow.GetData[T](b.Bytes())[:n]
}

// newBitmap allocates a zeroed bitmap for n bits.
func newBitmap(mem memory.Allocator, n int) (*memory.Buffer, []byte) {
	nb := int(bitutil.BytesForBits(int64(n)))
	b := newBuffer(mem, nb)
	bs := b.Bytes()
	clear(bs)
	return b, bs
}

// makeArray wraps buffers into an array of type dt and length n, giving the
// array the caller's references to the buffers. nulls is the null count.
func makeArray(dt arrow.DataType, n, nulls int, bufs ...*memory.Buffer) arrow.Array {
	if bufs[0] == nil {
		nulls = 0
	}
	data := array.NewData(dt, n, bufs, nil, nulls, 0)
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
	arr := array.MakeFromData(data)
	data.Release()
	return arr
}

// nullsIn counts the zero bits among the first n bits of an offset-0 bitmap.
func nullsIn(validity []byte, n int) int {
	return n - bitutil.CountSetBits(validity, 0, n)
}

// values returns the fixed-width values of arr as a []T of length arr.Len().
func values[T fixed](arr arrow.Array) []T {
	d := arr.Data()
	buf := d.Buffers()[1]
	if buf == nil || d.Len() == 0 {
		return nil
	}
	return arrow.GetData[T](buf.Bytes())[d.Offset() : d.Offset()+d.Len()]
}

// boolBits returns the value bitmap of a BOOLEAN array and its bit offset.
func boolBits(arr arrow.Array) ([]byte, int) {
	d := arr.Data()
	buf := d.Buffers()[1]
	if buf == nil {
		return nil, 0
	}
	return buf.Bytes(), d.Offset()
}

// strData returns the offsets (one more than the length, absolute into
// data) and the character data of a STRING array.
func strData(arr arrow.Array) ([]int32, []byte) {
	d := arr.Data()
	n := d.Len()
	var offs []int32
	if ob := d.Buffers()[1]; ob != nil && ob.Len() > 0 {
		offs = arrow.GetData[int32](ob.Bytes())[d.Offset() : d.Offset()+n+1]
	} else {
		offs = make([]int32, n+1)
	}
	var data []byte
	if db := d.Buffers()[2]; db != nil {
		data = db.Bytes()
	}
	return offs, data
}

// validity returns arr's validity bitmap and bit offset, or nil when arr has
// no nulls.
func validity(arr arrow.Array) ([]byte, int) {
	if arr.NullN() == 0 {
		return nil, 0
	}
	d := arr.Data()
	if d.DataType().ID() == arrow.NULL {
		return nil, 0 // callers check allNull first
	}
	return d.Buffers()[0].Bytes(), d.Offset()
}

// allNull reports whether every slot of arr is NULL (true for NULL-typed
// arrays and for arrays of length 0).
func allNull(arr arrow.Array) bool { return arr.NullN() == arr.Len() }

// copyValidity returns a fresh offset-0 validity bitmap equal to arr's, or
// nil when arr has no nulls.
func copyValidity(mem memory.Allocator, arr arrow.Array) (*memory.Buffer, int) {
	n := arr.Len()
	if arr.NullN() == 0 {
		return nil, 0
	}
	vb, v := newBitmap(mem, n)
	if arr.DataType().ID() == arrow.NULL {
		return vb, n
	}
	src, off := validity(arr)
	bitutil.CopyBitmap(src, off, n, v, 0)
	return vb, arr.NullN()
}

// andValidity returns the intersection of the validity of arrs (nil entries
// are skipped) as a fresh bitmap of n bits, or nil if no row is NULL.
func andValidity(mem memory.Allocator, n int, arrs ...arrow.Array) (*memory.Buffer, int) {
	var withNulls [4]arrow.Array
	k := 0
	for _, a := range arrs {
		if a != nil && a.NullN() > 0 {
			if k == len(withNulls) {
				break
			}
			withNulls[k] = a
			k++
		}
	}
	switch k {
	case 0:
		return nil, 0
	case 1:
		return copyValidity(mem, withNulls[0])
	}
	vb, v := newBitmap(mem, n)
	for i := 0; i < k; i++ {
		if withNulls[i].DataType().ID() == arrow.NULL {
			clear(v)
			return vb, n
		}
	}
	s0, o0 := validity(withNulls[0])
	s1, o1 := validity(withNulls[1])
	bitutil.BitmapAnd(s0, s1, int64(o0), int64(o1), v, 0, int64(n))
	for i := 2; i < k; i++ {
		s, o := validity(withNulls[i])
		bitutil.BitmapAnd(v, s, 0, int64(o), v, 0, int64(n))
	}
	return vb, nullsIn(v, n)
}

// alignedBits returns the n bits starting at bit off of src as an offset-0
// bitmap: src itself when off is byte-aligned, else a copy into scratch.
func alignedBits(src []byte, off, n int, scratch []byte) []byte {
	nb := int(bitutil.BytesForBits(int64(n)))
	if off%8 == 0 {
		return src[off/8 : off/8+nb]
	}
	if cap(scratch) < nb {
		scratch = make([]byte, nb)
	}
	scratch = scratch[:nb]
	bitutil.CopyBitmap(src, off, n, scratch, 0)
	return scratch
}

// isValid reports whether row i is non-NULL given a validity bitmap (nil
// means no NULLs) and its bit offset.
func isValid(v []byte, off, i int) bool {
	return v == nil || bitutil.BitIsSet(v, off+i)
}

// nullArray returns an all-NULL array of type dt and length n.
func nullArray(mem memory.Allocator, dt arrow.DataType, n int) arrow.Array {
	if dt.ID() == arrow.NULL {
		return array.NewNull(n)
	}
	return array.MakeArrayOfNull(mem, dt, n)
}
