package sqltext

import "errors"

// The reasons a value does not parse. They are sentinel values, so
// returning one allocates nothing; callers wrap them with the value and
// the column or expression at fault.
var (
	// ErrEmpty is the reason for empty text.
	ErrEmpty = errors.New("input is empty")
	// ErrSignOnly is the reason for text that is only a sign.
	ErrSignOnly = errors.New("input has only a sign")
	// ErrSyntax is the reason for text that is not in the value's syntax.
	ErrSyntax = errors.New("invalid character")
	// ErrRange is the reason for a well-formed number that does not fit
	// the type (an integer's bit size, a DECIMAL's precision).
	ErrRange = errors.New("overflow")
)

// Trim returns b without its leading and trailing bytes up to ' ' (space
// and the ASCII control characters), as Java's String.trim does and so as
// Flink's CAST trims text before converting it.
func Trim(b []byte) []byte {
	for len(b) > 0 && b[0] <= ' ' {
		b = b[1:]
	}
	for len(b) > 0 && b[len(b)-1] <= ' ' {
		b = b[:len(b)-1]
	}
	return b
}

// eqFold reports whether b equals the lower-case ASCII word w, ignoring
// the case of b.
func eqFold(b []byte, w string) bool {
	if len(b) != len(w) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

// ParseBool parses the words TRUE and FALSE in any case, as a text format
// reads a BOOLEAN field. The second result reports success.
func ParseBool(b []byte) (v, ok bool) {
	switch {
	case eqFold(b, "true"):
		return true, true
	case eqFold(b, "false"):
		return false, true
	}
	return false, false
}

// ParseBoolLenient parses text as Flink's CAST to BOOLEAN does: t, true,
// y, yes or 1 is TRUE and f, false, n, no or 0 is FALSE, in any case. The
// second result reports success.
func ParseBoolLenient(b []byte) (v, ok bool) {
	if v, ok := ParseBool(b); ok {
		return v, true
	}
	switch {
	case eqFold(b, "t"), eqFold(b, "y"), eqFold(b, "yes"), eqFold(b, "1"):
		return true, true
	case eqFold(b, "f"), eqFold(b, "n"), eqFold(b, "no"), eqFold(b, "0"):
		return false, true
	}
	return false, false
}
