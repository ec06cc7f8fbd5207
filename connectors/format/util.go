package format

import (
	"strconv"
	"unsafe"

	"github.com/eddy-streaming/eddy/engine/types/sqltext"
)

// TrimSpace returns b without leading and trailing ASCII spaces and tabs:
// the blanks a text format ignores around a field or a line. (CAST trims
// more, as Java's String.trim; see sqltext.Trim.)
func TrimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// parseDouble reads a DOUBLE field: Java's syntax (sqltext.ParseDouble,
// which is what Flink's text formats read), and also the spellings of the
// non-finite values that Go writes and that the formats have always
// accepted, in any case: "NaN", "Inf", "+Inf", "-Infinity", "nan".
func parseDouble(b []byte) (float64, bool) {
	if v, ok := sqltext.ParseDouble(b); ok {
		return v, true
	}
	body := b
	if len(body) > 0 && (body[0] == '+' || body[0] == '-') {
		body = body[1:]
	}
	if len(body) == 0 || (body[0]|0x20 != 'i' && body[0]|0x20 != 'n') {
		return 0, false
	}
	// strconv takes exactly [+-]inf, [+-]infinity and nan, in any case,
	// here; its error (rare) may allocate.
	v, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
	return v, err == nil
}
