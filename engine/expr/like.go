package expr

// LIKE: the pattern is compiled once (when constant) into '%'-separated
// segments of literal runs and '_' wildcards, matched without regular
// expressions: the first segment as a prefix, the last as a suffix, the
// ones between at their leftmost occurrence (which leaves the most room for
// the rest, so leftmost is always right).

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/eddy-streaming/eddy/engine/types"
)

// likeElem is one element of a segment: a literal run, or any (> 0) '_'
// wildcards in a row.
type likeElem struct {
	lit []byte
	any int
}

// likeSeg is the part of a pattern between two '%'.
type likeSeg struct {
	elems []likeElem
	chars int // characters a match consumes
	plain bool
	lit   []byte // the whole segment when plain (no '_')
}

// likePattern is a compiled LIKE pattern.
type likePattern struct {
	segs []likeSeg // len(segs)-1 '%' wildcards separate them
}

// compileLike compiles a LIKE pattern with escape character esc (-1: none).
// After the escape character only '_', '%' and the escape character itself
// may follow (Flink's rule); the error says where the pattern is wrong.
func compileLikePattern(pattern string, esc rune) (*likePattern, error) {
	lp := &likePattern{}
	var cur likeSeg
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			cur.elems = append(cur.elems, likeElem{lit: lit})
			cur.chars += utf8.RuneCount(lit)
			lit = nil
		}
	}
	endSeg := func() {
		flush()
		cur.plain = true
		for _, e := range cur.elems {
			if e.any > 0 {
				cur.plain = false
			}
		}
		if cur.plain {
			for _, e := range cur.elems {
				cur.lit = append(cur.lit, e.lit...)
			}
		}
		lp.segs = append(lp.segs, cur)
		cur = likeSeg{}
	}
	for i := 0; i < len(pattern); {
		r, size := utf8.DecodeRuneInString(pattern[i:])
		switch {
		case esc >= 0 && r == esc:
			if i+size >= len(pattern) {
				return nil, fmt.Errorf("invalid LIKE pattern '%s': it ends with the escape character", pattern)
			}
			next, nsize := utf8.DecodeRuneInString(pattern[i+size:])
			if next != '_' && next != '%' && next != esc {
				return nil, fmt.Errorf("invalid LIKE pattern '%s': the escape character at position %d is followed by '%c', not by '_', '%%' or itself", pattern, utf8.RuneCountInString(pattern[:i])+1, next)
			}
			lit = utf8.AppendRune(lit, next)
			i += size + nsize
			continue
		case r == '%':
			endSeg()
		case r == '_':
			flush()
			if k := len(cur.elems); k > 0 && cur.elems[k-1].any > 0 {
				cur.elems[k-1].any++
			} else {
				cur.elems = append(cur.elems, likeElem{any: 1})
			}
			cur.chars++
		default:
			lit = append(lit, pattern[i:i+size]...)
		}
		i += size
	}
	endSeg()
	return lp, nil
}

// CheckLikePattern reports whether pattern is a valid LIKE pattern with
// escape character escape ("" for none; otherwise one character), with an
// error that says what is wrong.
func CheckLikePattern(pattern, escape string) error {
	esc, err := likeEscape(escape)
	if err != nil {
		return err
	}
	_, err = compileLikePattern(pattern, esc)
	return err
}

// likeEscape returns the escape rune of an ESCAPE string ("" for none).
func likeEscape(escape string) (rune, error) {
	if escape == "" {
		return -1, nil
	}
	r, size := utf8.DecodeRuneInString(escape)
	if size != len(escape) {
		return 0, fmt.Errorf("the LIKE escape '%s' must be a single character", escape)
	}
	return r, nil
}

// isLineTerminator reports whether r is one of Java's line terminators,
// which '_' (Java's '.') does not match.
func isLineTerminator(r rune) bool {
	return r == '\n' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029
}

// matchAt matches seg at s[at:] and returns the end of the match.
func (seg *likeSeg) matchAt(s []byte, at int) (int, bool) {
	if seg.plain {
		if bytes.HasPrefix(s[at:], seg.lit) {
			return at + len(seg.lit), true
		}
		return 0, false
	}
	for _, e := range seg.elems {
		if e.any == 0 {
			if !bytes.HasPrefix(s[at:], e.lit) {
				return 0, false
			}
			at += len(e.lit)
			continue
		}
		for k := 0; k < e.any; k++ {
			if at >= len(s) {
				return 0, false
			}
			r, size := utf8.DecodeRune(s[at:])
			if isLineTerminator(r) {
				return 0, false
			}
			at += size
		}
	}
	return at, true
}

// find returns the end of the leftmost match of seg in s at or after from.
func (seg *likeSeg) find(s []byte, from int) (int, bool) {
	if seg.plain {
		k := bytes.Index(s[from:], seg.lit)
		if k < 0 {
			return 0, false
		}
		return from + k + len(seg.lit), true
	}
	first := seg.elems[0]
	for start := from; start <= len(s); {
		if first.any == 0 {
			k := bytes.Index(s[start:], first.lit)
			if k < 0 {
				return 0, false
			}
			start += k
		}
		if end, ok := seg.matchAt(s, start); ok {
			return end, true
		}
		if start == len(s) {
			break
		}
		_, size := utf8.DecodeRune(s[start:])
		start += size
	}
	return 0, false
}

// match reports whether all of s matches the pattern.
func (lp *likePattern) match(s []byte) bool {
	segs := lp.segs
	if len(segs) == 1 {
		end, ok := segs[0].matchAt(s, 0)
		return ok && end == len(s)
	}
	pos, ok := segs[0].matchAt(s, 0)
	if !ok {
		return false
	}
	for _, seg := range segs[1 : len(segs)-1] {
		if len(seg.elems) == 0 {
			continue
		}
		if pos, ok = seg.find(s, pos); !ok {
			return false
		}
	}
	last := &segs[len(segs)-1]
	// The last segment consumes a fixed number of characters: it can only
	// start that many characters before the end.
	start := len(s)
	for k := 0; k < last.chars; k++ {
		if start <= pos {
			return false
		}
		_, size := utf8.DecodeLastRune(s[:start])
		start -= size
	}
	if start < pos {
		return false
	}
	end, ok := last.matchAt(s, start)
	return ok && end == len(s)
}

// compileLike compiles like(s, pattern, escape): escape is a constant
// STRING of one character, or the empty string for none. A constant pattern is compiled
// once; another is compiled per distinct value and fails the job when it
// is not valid.
func compileLike(c *compiler, e *Expr, args []*prog) (*prog, error) {
	if err := argRange("LIKE", args, 2, 3); err != nil {
		return nil, err
	}
	if err := checkArgKinds("LIKE", args, strKinds, strKinds, strKinds); err != nil {
		return nil, err
	}
	if e.Type.Kind != types.Boolean {
		return nil, fmt.Errorf("LIKE returns a BOOLEAN, not %s", e.Type)
	}
	esc := rune(-1)
	text := args[0].text + " LIKE " + args[1].text
	if len(args) == 3 {
		escape, null, ok := constString(args[2])
		if !ok {
			return nil, fmt.Errorf("the LIKE escape %s is not a constant", args[2].text)
		}
		if null {
			return &prog{t: e.Type, text: text, konst: &scalar{null: true}}, nil
		}
		var err error
		if esc, err = likeEscape(escape); err != nil {
			return nil, err
		}
		if esc >= 0 && esc != '\\' {
			text += " ESCAPE " + args[2].text
		}
	}
	p := &prog{t: e.Type, text: text, fallible: anyFallible(args...)}
	var konst *likePattern
	if pat, null, ok := constString(args[1]); ok && !null {
		lp, err := compileLikePattern(pat, esc)
		if err != nil {
			return nil, err
		}
		konst = lp
	} else if !ok {
		p.fallible = true
	}
	p.run = strictRun(args[:2], func(ec *evalCtx, vals []value, n int) (value, error) {
		s, pat := newStrOperand(vals[0]), newStrOperand(vals[1])
		ob, out := newBitmap(ec.mem, n)
		nulls := newOutNulls(ec.mem, n, vals...)
		lp := konst
		var last []byte
		for i := 0; i < n; i++ {
			if !nulls.valid(i) {
				continue
			}
			if konst == nil {
				if pi := pat.at(i); lp == nil || !bytes.Equal(pi, last) {
					var err error
					if lp, err = compileLikePattern(string(pi), esc); err != nil {
						ob.Release()
						nulls.release()
						return value{}, fmt.Errorf("%s: %w", text, err)
					}
					last = pi
				}
			}
			if lp.match(s.at(i)) {
				bitutil.SetBit(out, i)
			}
		}
		vb, nn := nulls.finish()
		return value{arr: makeArray(arrow.FixedWidthTypes.Boolean, n, nn, vb, ob)}, nil
	})
	return p, nil
}
