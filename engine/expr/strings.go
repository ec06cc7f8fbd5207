package expr

// String functions. Positions and lengths count Unicode code points (as
// Flink's BinaryStringData does, not Java's UTF-16 units), strings are
// read straight from the Arrow offsets and data buffers, and results are
// written into one data buffer per column (strBuilder): no per-row
// allocation.

import (
	"bytes"
	"fmt"
	"math"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/eddy-streaming/eddy/engine/types"
)

// maxPadChars bounds the length LPAD and RPAD may produce.
const maxPadChars = 1 << 20

// strSize returns the number of data bytes of a STRING value (a constant
// counts once per row).
func strSize(v value, n int) int {
	if v.arr == nil {
		return len(v.sc.s) * n
	}
	offs, _ := strData(v.arr)
	return int(offs[len(offs)-1] - offs[0])
}

// charCount returns the number of code points of UTF-8 text (invalid bytes
// count one each, as Go decodes them).
func charCount(s []byte) int {
	n := 0
	for _, c := range s {
		if c&0xC0 != 0x80 {
			n++
		}
	}
	return n
}

// isASCII reports whether s is all ASCII.
func isASCII(s []byte) bool {
	for _, c := range s {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// charOffset returns the byte offset of code point k (0-based) of s, or
// len(s) when s has k or fewer code points.
func charOffset(s []byte, k int) int {
	if k <= 0 {
		return 0
	}
	seen := 0
	for i, c := range s {
		if c&0xC0 != 0x80 {
			if seen == k {
				return i
			}
			seen++
		}
	}
	return len(s)
}

// strResult checks that a string function's result type is a STRING.
func strResult(name string, t types.Type) error {
	if t.Kind != types.String {
		return fmt.Errorf("%s returns a STRING, not %s", name, t)
	}
	return nil
}

// compileStrMap compiles a function of one STRING argument that writes the
// result row with f.
func compileStrMap(name string, t types.Type, args []*prog, f func(b *strBuilder, s []byte)) (*prog, error) {
	if err := argRange(name, args, 1, 1); err != nil {
		return nil, err
	}
	if err := checkArgKinds(name, args, strKinds); err != nil {
		return nil, err
	}
	if err := strResult(name, t); err != nil {
		return nil, err
	}
	p := &prog{t: t, text: callText(name, args), fallible: anyFallible(args...)}
	p.run = strictRun(args, func(ec *evalCtx, vals []value, n int) (value, error) {
		s := newStrOperand(vals[0])
		nulls := newOutNulls(ec.mem, n, vals...)
		b := newStrBuilder(ec.mem, n, strSize(vals[0], n))
		for i := 0; i < n; i++ {
			b.begin()
			if nulls.valid(i) {
				f(b, s.at(i))
			}
		}
		vb, nn := nulls.finish()
		return value{arr: b.finish(vb, nn)}, nil
	})
	return p, nil
}

// compileChangeCase compiles UPPER and LOWER: ASCII letters byte by byte,
// other code points through Unicode's simple case mapping (Java's full
// mapping differs for a few characters, e.g. 'ß' stays 'ß' in UPPER).
func compileChangeCase(upper bool) compileFn {
	name := "LOWER"
	if upper {
		name = "UPPER"
	}
	return func(c *compiler, e *Expr, args []*prog) (*prog, error) {
		return compileStrMap(name, e.Type, args, func(b *strBuilder, s []byte) {
			b.reserve(len(s))
			for i := 0; i < len(s); {
				ch := s[i]
				if ch < utf8.RuneSelf {
					if upper && 'a' <= ch && ch <= 'z' {
						ch -= 'a' - 'A'
					} else if !upper && 'A' <= ch && ch <= 'Z' {
						ch += 'a' - 'A'
					}
					b.data[b.pos] = ch
					b.pos++
					i++
					continue
				}
				r, size := utf8.DecodeRune(s[i:])
				if r == utf8.RuneError && size == 1 {
					b.writeByte(s[i])
					i++
					continue
				}
				if upper {
					r = unicode.ToUpper(r)
				} else {
					r = unicode.ToLower(r)
				}
				b.writeRune(r)
				i += size
				b.reserve(len(s) - i) // ASCII below writes without checks
			}
		})
	}
}

// compileInitCap compiles INITCAP: in every word (a run of ASCII letters
// and digits) the first letter is upper-cased and the others lower-cased;
// every other character, non-ASCII ones included, separates words and is
// kept as is (Calcite's initcap).
func compileInitCap(c *compiler, e *Expr, args []*prog) (*prog, error) {
	return compileStrMap("INITCAP", e.Type, args, func(b *strBuilder, s []byte) {
		b.reserve(len(s))
		start := true
		for _, ch := range s {
			isDigit := '0' <= ch && ch <= '9'
			isUpper := 'A' <= ch && ch <= 'Z'
			isLower := 'a' <= ch && ch <= 'z'
			switch {
			case !isDigit && !isUpper && !isLower:
				start = true
			case start:
				if isLower {
					ch -= 'a' - 'A'
				}
				start = false
			case isUpper:
				ch += 'a' - 'A'
			}
			b.data[b.pos] = ch
			b.pos++
		}
	})
}

// compileConcat compiles CONCAT(s1, s2, ...) (and ||): NULL if any argument
// is NULL.
func compileConcat(c *compiler, e *Expr, args []*prog) (*prog, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("CONCAT needs at least one argument")
	}
	kinds := make([][]types.Kind, len(args))
	for i := range kinds {
		kinds[i] = strKinds
	}
	if err := checkArgKinds("CONCAT", args, kinds...); err != nil {
		return nil, err
	}
	if err := strResult("CONCAT", e.Type); err != nil {
		return nil, err
	}
	p := &prog{t: e.Type, text: callText("CONCAT", args), fallible: anyFallible(args...)}
	p.run = strictRun(args, func(ec *evalCtx, vals []value, n int) (value, error) {
		ops := make([]strOperand, len(vals))
		size := 0
		for j, v := range vals {
			ops[j] = newStrOperand(v)
			size += strSize(v, n)
		}
		nulls := newOutNulls(ec.mem, n, vals...)
		b := newStrBuilder(ec.mem, n, size)
		for i := 0; i < n; i++ {
			b.begin()
			if !nulls.valid(i) {
				continue
			}
			for j := range ops {
				b.write(ops[j].at(i))
			}
		}
		vb, nn := nulls.finish()
		return value{arr: b.finish(vb, nn)}, nil
	})
	return p, nil
}

// compileConcatWs compiles CONCAT_WS(sep, s1, s2, ...): the non-NULL
// strings joined by sep; NULL only when sep is NULL, and the empty string when every
// string is NULL.
func compileConcatWs(c *compiler, e *Expr, args []*prog) (*prog, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("CONCAT_WS needs a separator and at least one string, got %d argument(s)", len(args))
	}
	kinds := make([][]types.Kind, len(args))
	for i := range kinds {
		kinds[i] = strKinds
	}
	if err := checkArgKinds("CONCAT_WS", args, kinds...); err != nil {
		return nil, err
	}
	if err := strResult("CONCAT_WS", e.Type); err != nil {
		return nil, err
	}
	p := &prog{t: e.Type, text: callText("CONCAT_WS", args), fallible: anyFallible(args...)}
	if sep := args[0]; sep.konst != nil && sep.konst.null {
		p.konst = &scalar{null: true}
		return p, nil
	}
	p.run = func(ec *evalCtx, in *batch) (value, error) {
		vals, err := evalAll(ec, in, args)
		defer releaseAll(vals)
		if err != nil {
			return value{}, err
		}
		n := in.n
		if vals[0].isNullScalar() {
			return value{sc: &scalar{null: true}}, nil
		}
		sep := newStrOperand(vals[0])
		type operand struct {
			s         strOperand
			null      bool // the constant NULL
			vbits     []byte
			voff      int
			hasNulls  bool
			allNulled bool
		}
		ops := make([]operand, len(vals)-1)
		size := strSize(vals[0], n) * len(ops)
		for j, v := range vals[1:] {
			o := &ops[j]
			if v.isNullScalar() {
				o.null = true
				continue
			}
			o.s = newStrOperand(v)
			size += strSize(v, n)
			if v.arr != nil && v.arr.NullN() > 0 {
				if v.arr.DataType().ID() == arrow.NULL {
					o.null = true
					continue
				}
				o.hasNulls = true
				o.vbits, o.voff = validity(v.arr)
			}
		}
		nulls := newOutNulls(ec.mem, n, vals[0])
		b := newStrBuilder(ec.mem, n, size)
		for i := 0; i < n; i++ {
			b.begin()
			if !nulls.valid(i) {
				continue
			}
			first := true
			for j := range ops {
				o := &ops[j]
				if o.null || (o.hasNulls && !bitutil.BitIsSet(o.vbits, o.voff+i)) {
					continue
				}
				if !first {
					b.write(sep.at(i))
				}
				first = false
				b.write(o.s.at(i))
			}
		}
		vb, nn := nulls.finish()
		return value{arr: b.finish(vb, nn)}, nil
	}
	return p, nil
}

// substringSQL is Flink's SUBSTRING(s FROM pos [FOR length]) on code
// points: pos 0 is 1, a negative pos counts from the end, a start past the
// end (or before the start) gives the empty string; a negative length gives NULL.
func substringSQL(s []byte, pos, length int64) (out []byte, null bool) {
	if length < 0 {
		return nil, true
	}
	if len(s) == 0 {
		return s, false
	}
	ascii := isASCII(s)
	numChars := int64(len(s))
	if !ascii {
		numChars = int64(charCount(s))
	}
	var start int64
	switch {
	case pos > 0:
		start = pos - 1
		if start >= numChars {
			return s[:0], false
		}
	case pos < 0:
		start = numChars + pos
		if start < 0 {
			return s[:0], false
		}
	}
	end := numChars
	if numChars-start >= length {
		end = start + length
	}
	if ascii {
		return s[start:end], false
	}
	bs := charOffset(s, int(start))
	be := bs + charOffset(s[bs:], int(end-start))
	return s[bs:be], false
}

// compileSubstring compiles SUBSTRING(s, pos [, length]).
func compileSubstring(c *compiler, e *Expr, args []*prog) (*prog, error) {
	if err := argRange("SUBSTRING", args, 2, 3); err != nil {
		return nil, err
	}
	if err := checkArgKinds("SUBSTRING", args, strKinds, intKinds, intKinds); err != nil {
		return nil, err
	}
	if err := strResult("SUBSTRING", e.Type); err != nil {
		return nil, err
	}
	p := &prog{t: e.Type, text: callText("SUBSTRING", args), fallible: anyFallible(args...)}
	p.run = strictRun(args, func(ec *evalCtx, vals []value, n int) (value, error) {
		s := newStrOperand(vals[0])
		pos := newIntOperand(vals[1])
		length := intOperand{konst: math.MaxInt64}
		if len(vals) == 3 {
			length = newIntOperand(vals[2])
		}
		nulls := newOutNulls(ec.mem, n, vals...)
		b := newStrBuilder(ec.mem, n, strSize(vals[0], n))
		for i := 0; i < n; i++ {
			if !nulls.valid(i) {
				b.begin()
				continue
			}
			out, null := substringSQL(s.at(i), pos.at(i), length.at(i))
			if null {
				nulls.setNull(i)
			}
			b.add(out)
		}
		vb, nn := nulls.finish()
		return value{arr: b.finish(vb, nn)}, nil
	})
	return p, nil
}

// compileCharLength compiles CHAR_LENGTH(s): the number of code points.
func compileCharLength(c *compiler, e *Expr, args []*prog) (*prog, error) {
	if err := argRange("CHAR_LENGTH", args, 1, 1); err != nil {
		return nil, err
	}
	if err := checkArgKinds("CHAR_LENGTH", args, strKinds); err != nil {
		return nil, err
	}
	if e.Type.Kind != types.Int {
		return nil, fmt.Errorf("CHAR_LENGTH returns an INT, not %s", e.Type)
	}
	p := &prog{t: e.Type, text: callText("CHAR_LENGTH", args), fallible: anyFallible(args...)}
	p.run = strictRun(args, func(ec *evalCtx, vals []value, n int) (value, error) {
		s := newStrOperand(vals[0])
		ob, out := newValues[int32](ec.mem, n)
		for i := 0; i < n; i++ {
			out[i] = int32(charCount(s.at(i)))
		}
		nulls := newOutNulls(ec.mem, n, vals...)
		vb, nn := nulls.finish()
		return value{arr: makeArray(arrow.PrimitiveTypes.Int32, n, nn, vb, ob)}, nil
	})
	return p, nil
}

// runeSet is a set of code points: the characters TRIM removes.
type runeSet struct {
	ascii [128]bool
	other []rune
}

// newRuneSet returns the set of the characters of s.
func newRuneSet(s []byte) *runeSet {
	rs := &runeSet{}
	for len(s) > 0 {
		r, size := utf8.DecodeRune(s)
		if r < utf8.RuneSelf && size == 1 && s[0] < utf8.RuneSelf {
			rs.ascii[r] = true
		} else {
			rs.other = append(rs.other, r)
		}
		s = s[size:]
	}
	return rs
}

// has reports whether r is in the set.
func (rs *runeSet) has(r rune) bool {
	if r >= 0 && r < utf8.RuneSelf {
		return rs.ascii[r]
	}
	for _, o := range rs.other {
		if o == r {
			return true
		}
	}
	return false
}

// inChars reports whether r is one of the characters of chars.
func inChars(chars []byte, r rune) bool {
	for len(chars) > 0 {
		c, size := utf8.DecodeRune(chars)
		if c == r {
			return true
		}
		chars = chars[size:]
	}
	return false
}

// trimSpan returns s without the leading (left) and/or trailing (right)
// code points in the trim set: set when not nil, else the characters of
// chars.
func trimSpan(s []byte, left, right bool, set *runeSet, chars []byte) []byte {
	in := func(r rune) bool {
		if set != nil {
			return set.has(r)
		}
		return inChars(chars, r)
	}
	if left {
		for len(s) > 0 {
			r, size := utf8.DecodeRune(s)
			if !in(r) {
				break
			}
			s = s[size:]
		}
	}
	if right {
		for len(s) > 0 {
			r, size := utf8.DecodeLastRune(s)
			if !in(r) {
				break
			}
			s = s[:len(s)-size]
		}
	}
	return s
}

// compileTrim compiles trim, ltrim and rtrim (s, chars): s without the
// leading and/or trailing characters that occur in chars (TRIM(BOTH |
// LEADING | TRAILING chars FROM s); LTRIM(s) and RTRIM(s) pass ' ').
func compileTrim(left, right bool) compileFn {
	name := map[[2]bool]string{{true, true}: "TRIM", {true, false}: "LTRIM", {false, true}: "RTRIM"}[[2]bool{left, right}]
	return func(c *compiler, e *Expr, args []*prog) (*prog, error) {
		if err := argRange(name, args, 2, 2); err != nil {
			return nil, err
		}
		if err := checkArgKinds(name, args, strKinds, strKinds); err != nil {
			return nil, err
		}
		if err := strResult(name, e.Type); err != nil {
			return nil, err
		}
		p := &prog{t: e.Type, text: callText(name, args), fallible: anyFallible(args...)}
		var konst *runeSet
		var single byte // a constant single ASCII character
		if chars, null, ok := constString(args[1]); ok && !null {
			konst = newRuneSet([]byte(chars))
			if len(chars) == 1 && chars[0] < utf8.RuneSelf {
				single = chars[0]
			}
		}
		p.run = strictRun(args, func(ec *evalCtx, vals []value, n int) (value, error) {
			s, chars := newStrOperand(vals[0]), newStrOperand(vals[1])
			nulls := newOutNulls(ec.mem, n, vals...)
			b := newStrBuilder(ec.mem, n, strSize(vals[0], n))
			for i := 0; i < n; i++ {
				if !nulls.valid(i) {
					b.begin()
					continue
				}
				row := s.at(i)
				switch {
				case single != 0:
					lo, hi := 0, len(row)
					if left {
						for lo < hi && row[lo] == single {
							lo++
						}
					}
					if right {
						for hi > lo && row[hi-1] == single {
							hi--
						}
					}
					b.add(row[lo:hi])
				case konst != nil:
					b.add(trimSpan(row, left, right, konst, nil))
				default:
					b.add(trimSpan(row, left, right, nil, chars.at(i)))
				}
			}
			vb, nn := nulls.finish()
			return value{arr: b.finish(vb, nn)}, nil
		})
		return p, nil
	}
}

// compileReplace compiles REPLACE(s, from, to): every non-overlapping
// occurrence of from, left to right, replaced by to. An empty from inserts
// to before every character and at the end (Java's String.replace).
func compileReplace(c *compiler, e *Expr, args []*prog) (*prog, error) {
	if err := argRange("REPLACE", args, 3, 3); err != nil {
		return nil, err
	}
	if err := checkArgKinds("REPLACE", args, strKinds, strKinds, strKinds); err != nil {
		return nil, err
	}
	if err := strResult("REPLACE", e.Type); err != nil {
		return nil, err
	}
	p := &prog{t: e.Type, text: callText("REPLACE", args), fallible: anyFallible(args...)}
	p.run = strictRun(args, func(ec *evalCtx, vals []value, n int) (value, error) {
		s, from, to := newStrOperand(vals[0]), newStrOperand(vals[1]), newStrOperand(vals[2])
		nulls := newOutNulls(ec.mem, n, vals...)
		b := newStrBuilder(ec.mem, n, strSize(vals[0], n))
		for i := 0; i < n; i++ {
			b.begin()
			if !nulls.valid(i) {
				continue
			}
			row, f, t := s.at(i), from.at(i), to.at(i)
			if len(f) == 0 {
				for len(row) > 0 {
					_, size := utf8.DecodeRune(row)
					b.write(t)
					b.write(row[:size])
					row = row[size:]
				}
				b.write(t)
				continue
			}
			for {
				k := bytes.Index(row, f)
				if k < 0 {
					b.write(row)
					break
				}
				b.write(row[:k])
				b.write(t)
				row = row[k+len(f):]
			}
		}
		vb, nn := nulls.finish()
		return value{arr: b.finish(vb, nn)}, nil
	})
	return p, nil
}

// compilePosition compiles POSITION(needle IN haystack): the 1-based
// code-point position of the first occurrence of needle, 0 if none (1 for
// an empty needle).
func compilePosition(c *compiler, e *Expr, args []*prog) (*prog, error) {
	if err := argRange("POSITION", args, 2, 2); err != nil {
		return nil, err
	}
	if err := checkArgKinds("POSITION", args, strKinds, strKinds); err != nil {
		return nil, err
	}
	if e.Type.Kind != types.Int {
		return nil, fmt.Errorf("POSITION returns an INT, not %s", e.Type)
	}
	p := &prog{t: e.Type, text: "POSITION(" + args[0].text + " IN " + args[1].text + ")", fallible: anyFallible(args...)}
	p.run = strictRun(args, func(ec *evalCtx, vals []value, n int) (value, error) {
		needle, hay := newStrOperand(vals[0]), newStrOperand(vals[1])
		ob, out := newValues[int32](ec.mem, n)
		for i := 0; i < n; i++ {
			h := hay.at(i)
			k := bytes.Index(h, needle.at(i))
			if k < 0 {
				out[i] = 0
			} else {
				out[i] = int32(charCount(h[:k]) + 1)
			}
		}
		nulls := newOutNulls(ec.mem, n, vals...)
		vb, nn := nulls.finish()
		return value{arr: makeArray(arrow.PrimitiveTypes.Int32, n, nn, vb, ob)}, nil
	})
	return p, nil
}

// compilePad compiles LPAD and RPAD(s, length, pad): s padded on the left
// (right) with pad, repeated, to length characters, or cut to length
// characters when longer; NULL when length is negative or pad is empty.
func compilePad(left bool) compileFn {
	name := "RPAD"
	if left {
		name = "LPAD"
	}
	return func(c *compiler, e *Expr, args []*prog) (*prog, error) {
		if err := argRange(name, args, 3, 3); err != nil {
			return nil, err
		}
		if err := checkArgKinds(name, args, strKinds, intKinds, strKinds); err != nil {
			return nil, err
		}
		if err := strResult(name, e.Type); err != nil {
			return nil, err
		}
		text := callText(name, args)
		p := &prog{t: e.Type, text: text, fallible: true}
		p.run = strictRun(args, func(ec *evalCtx, vals []value, n int) (value, error) {
			s, length, pad := newStrOperand(vals[0]), newIntOperand(vals[1]), newStrOperand(vals[2])
			nulls := newOutNulls(ec.mem, n, vals...)
			b := newStrBuilder(ec.mem, n, strSize(vals[0], n))
			for i := 0; i < n; i++ {
				b.begin()
				if !nulls.valid(i) {
					continue
				}
				l, pd := length.at(i), pad.at(i)
				if l < 0 || len(pd) == 0 {
					nulls.setNull(i)
					continue
				}
				if l > maxPadChars {
					b.release()
					nulls.release()
					return value{}, fmt.Errorf("%s: length %d is more than %d characters", text, l, maxPadChars)
				}
				row := s.at(i)
				chars := charCount(row)
				want := int(l)
				fill := max(want-chars, 0)
				keep := row[:charOffset(row, want-fill)]
				if !left {
					b.write(keep)
				}
				for k := 0; k < fill; {
					for rest := pd; len(rest) > 0 && k < fill; k++ {
						_, size := utf8.DecodeRune(rest)
						b.write(rest[:size])
						rest = rest[size:]
					}
				}
				if left {
					b.write(keep)
				}
			}
			vb, nn := nulls.finish()
			return value{arr: b.finish(vb, nn)}, nil
		})
		return p, nil
	}
}

// isJavaWhitespace is Java's Character.isWhitespace.
func isJavaWhitespace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', 0x1C, 0x1D, 0x1E, 0x1F:
		return true
	case 0xA0, 0x2007, 0x202F:
		return false
	}
	return unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp)
}

// splitIndex returns field index (0-based) of s split at every occurrence
// of sep (commons-lang's splitByWholeSeparatorPreserveAllTokens: adjacent
// separators delimit empty fields; an empty s has no fields; an empty sep
// splits at every whitespace character). ok is false when there is no such
// field.
func splitIndex(s, sep []byte, index int64) ([]byte, bool) {
	if index < 0 || len(s) == 0 {
		return nil, false
	}
	if len(sep) == 0 {
		start := 0
		field := int64(0)
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRune(s[i:])
			if isJavaWhitespace(r) {
				if field == index {
					return s[start:i], true
				}
				field++
				start = i + size
			}
			i += size
		}
		if field == index {
			return s[start:], true
		}
		return nil, false
	}
	for field := int64(0); ; field++ {
		k := bytes.Index(s, sep)
		if field == index {
			if k < 0 {
				return s, true
			}
			return s[:k], true
		}
		if k < 0 {
			return nil, false
		}
		s = s[k+len(sep):]
	}
}

// compileSplitIndex compiles SPLIT_INDEX(s, sep, index): field index
// (0-based) of s split at sep; NULL when index is negative or out of
// range.
func compileSplitIndex(c *compiler, e *Expr, args []*prog) (*prog, error) {
	if err := argRange("SPLIT_INDEX", args, 3, 3); err != nil {
		return nil, err
	}
	if err := checkArgKinds("SPLIT_INDEX", args, strKinds, strKinds, intKinds); err != nil {
		return nil, err
	}
	if err := strResult("SPLIT_INDEX", e.Type); err != nil {
		return nil, err
	}
	p := &prog{t: e.Type, text: callText("SPLIT_INDEX", args), fallible: anyFallible(args...)}
	p.run = strictRun(args, func(ec *evalCtx, vals []value, n int) (value, error) {
		s, sep, idx := newStrOperand(vals[0]), newStrOperand(vals[1]), newIntOperand(vals[2])
		nulls := newOutNulls(ec.mem, n, vals...)
		b := newStrBuilder(ec.mem, n, strSize(vals[0], n)/2)
		for i := 0; i < n; i++ {
			if !nulls.valid(i) {
				b.begin()
				continue
			}
			f, ok := splitIndex(s.at(i), sep.at(i), idx.at(i))
			if !ok {
				nulls.setNull(i)
			}
			b.add(f)
		}
		vb, nn := nulls.finish()
		return value{arr: b.finish(vb, nn)}, nil
	})
	return p, nil
}
