package format

import (
	"strconv"
	"unicode/utf8"
)

func appendInt(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }

func utf8Valid(b []byte) bool { return utf8.Valid(b) }
