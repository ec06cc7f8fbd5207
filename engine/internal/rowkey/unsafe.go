package rowkey

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
)

// arrowInt64s views timestamps as their int64 milliseconds, without copying.
func arrowInt64s(vs []arrow.Timestamp) []int64 {
	return unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(vs))), len(vs))
}
