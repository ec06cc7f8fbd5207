package expr

// REGEXP and REGEXP_EXTRACT run on Go's regexp package (RE2 syntax and
// linear-time matching) rather than Java's java.util.regex. What differs
// from Flink:
//
//   - RE2 has no backreferences (\1), lookahead or lookbehind ((?=...),
//     (?<=...)), possessive quantifiers (a*+) or atomic groups ((?>...)), and
//     no Java POSIX classes such as \p{Alpha} (RE2 writes [[:alpha:]]): a
//     constant pattern using them is rejected when the query is planned;
//   - '.' matches any character but '\n' (Java also excludes '\r', U+0085,
//     U+2028 and U+2029), and '$' matches only at the very end (Java also
//     before a final line terminator);
//   - where both would match, RE2 picks the same leftmost match with Perl's
//     preferences, so group contents agree.
//
// A pattern that is not a constant is compiled per distinct value; one that
// does not compile makes REGEXP FALSE and REGEXP_EXTRACT NULL, as Flink
// does.

import (
	"bytes"
	"fmt"
	"regexp"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/eddy-streaming/eddy/engine/types"
)

// CompileRegexp compiles a pattern of REGEXP or REGEXP_EXTRACT, with an
// error that says why RE2 rejects it.
func CompileRegexp(pattern string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression '%s' (Eddy uses RE2 syntax: no backreferences, lookaround or possessive quantifiers): %v", pattern, err)
	}
	return re, nil
}

// regexCache compiles the patterns of a non-constant pattern column,
// remembering the last one.
type regexCache struct {
	last []byte
	m    *matcher
	sc   *matchScratch
	ok   bool
	used bool
}

// get returns the matcher of pattern p and its scratch, or false when p
// does not compile.
func (c *regexCache) get(p []byte) (*matcher, *matchScratch, bool) {
	if c.used && bytes.Equal(p, c.last) {
		return c.m, c.sc, c.ok
	}
	c.used = true
	c.last = p
	c.m, c.sc, c.ok = nil, nil, false
	if re, err := regexp.Compile(string(p)); err == nil {
		c.m = newMatcher(re)
		c.sc, c.ok = c.m.newScratch(), true
	}
	return c.m, c.sc, c.ok
}

// compileRegexp compiles REGEXP(s, pattern): TRUE when some (possibly
// empty) substring of s matches pattern; FALSE for an empty pattern.
func compileRegexp(c *compiler, e *Expr, args []*prog) (*prog, error) {
	if err := argRange("REGEXP", args, 2, 2); err != nil {
		return nil, err
	}
	if err := checkArgKinds("REGEXP", args, strKinds, strKinds); err != nil {
		return nil, err
	}
	if e.Type.Kind != types.Boolean {
		return nil, fmt.Errorf("REGEXP returns a BOOLEAN, not %s", e.Type)
	}
	p := &prog{t: e.Type, text: callText("REGEXP", args), fallible: anyFallible(args...)}
	var konst *matcher
	empty := false
	if pat, null, ok := constString(args[1]); ok && !null {
		if pat == "" {
			empty = true
		} else {
			re, err := CompileRegexp(pat)
			if err != nil {
				return nil, err
			}
			konst = newMatcher(re)
		}
	}
	p.costly = true
	p.run = strictRun(args, func(ec *evalCtx, vals []value, n int) (value, error) {
		if searchedHook != nil {
			searchedHook(n)
		}
		s, pat := newStrOperand(vals[0]), newStrOperand(vals[1])
		ob, out := newBitmap(ec.mem, n)
		nulls := newOutNulls(ec.mem, n, vals...)
		var cache regexCache
		var ksc *matchScratch
		if konst != nil {
			ksc = konst.newScratch()
		}
		for i := 0; i < n && !empty; i++ {
			if !nulls.valid(i) {
				continue
			}
			m, sc := konst, ksc
			if m == nil {
				pi := pat.at(i)
				if len(pi) == 0 {
					continue
				}
				var ok bool
				if m, sc, ok = cache.get(pi); !ok {
					continue
				}
			}
			if m.find(s.at(i), sc, false) {
				bitutil.SetBit(out, i)
			}
		}
		vb, nn := nulls.finish()
		return value{arr: makeArray(arrow.FixedWidthTypes.Boolean, n, nn, vb, ob)}, nil
	})
	return p, nil
}

// compileRegexpExtract compiles REGEXP_EXTRACT(s, pattern [, group]): group
// (default 0, the whole match) of the first match of pattern in s; NULL
// when nothing matches, the group does not exist or did not take part.
func compileRegexpExtract(c *compiler, e *Expr, args []*prog) (*prog, error) {
	if err := argRange("REGEXP_EXTRACT", args, 2, 3); err != nil {
		return nil, err
	}
	if err := checkArgKinds("REGEXP_EXTRACT", args, strKinds, strKinds, intKinds); err != nil {
		return nil, err
	}
	if err := strResult("REGEXP_EXTRACT", e.Type); err != nil {
		return nil, err
	}
	p := &prog{t: e.Type, text: callText("REGEXP_EXTRACT", args), fallible: anyFallible(args...)}
	var konst *matcher
	if pat, null, ok := constString(args[1]); ok && !null {
		re, err := CompileRegexp(pat)
		if err != nil {
			return nil, err
		}
		konst = newMatcher(re)
	}
	p.costly = true
	p.run = strictRun(args, func(ec *evalCtx, vals []value, n int) (value, error) {
		if searchedHook != nil {
			searchedHook(n)
		}
		s, pat := newStrOperand(vals[0]), newStrOperand(vals[1])
		group := intOperand{}
		if len(vals) == 3 {
			group = newIntOperand(vals[2])
		}
		nulls := newOutNulls(ec.mem, n, vals...)
		b := newStrBuilder(ec.mem, n, strSize(vals[0], n)/2)
		var cache regexCache
		var ksc *matchScratch
		if konst != nil {
			ksc = konst.newScratch()
		}
		for i := 0; i < n; i++ {
			if !nulls.valid(i) {
				b.begin()
				continue
			}
			m, sc := konst, ksc
			if m == nil {
				var ok bool
				if m, sc, ok = cache.get(pat.at(i)); !ok {
					nulls.setNull(i)
					b.begin()
					continue
				}
			}
			g := group.at(i)
			if g < 0 || g > int64(m.ncap) {
				nulls.setNull(i)
				b.begin()
				continue
			}
			row := s.at(i)
			if !m.find(row, sc, true) || sc.caps[2*g] < 0 {
				nulls.setNull(i)
				b.begin()
				continue
			}
			b.add(row[sc.caps[2*g]:sc.caps[2*g+1]])
		}
		vb, nn := nulls.finish()
		return value{arr: b.finish(vb, nn)}, nil
	})
	return p, nil
}
