package functions

import (
	"strings"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/types"
)

// bindFn is a Func's binder.
type bindFn = func(c Ctx, args []*expr.Expr) (*expr.Expr, error)

func init() {
	registerStrings()
	registerTime()
	registerMath()
	registerConditional()
}

// sameString binds name(s): a string of s's type.
func sameString(fn, name string) bindFn {
	return func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
		s, err := wantString(c, name, args, 0)
		if err != nil {
			return nil, err
		}
		return expr.Call(fn, stringOf(s, s.Type.NotNull), s), nil
	}
}

// stringArgs checks that every argument is a STRING.
func stringArgs(c Ctx, name string, args []*expr.Expr) ([]*expr.Expr, error) {
	out := make([]*expr.Expr, len(args))
	for i := range args {
		a, err := wantString(c, name, args, i)
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

func registerStrings() {
	register(&Func{Name: "LOWER", Category: "string", Synopsis: "LOWER(s)", Doc: "s in lower case.", MinArgs: 1, MaxArgs: 1,
		bind: sameString(expr.FuncLower, "LOWER")})
	register(&Func{Name: "UPPER", Category: "string", Synopsis: "UPPER(s)", Doc: "s in upper case.", MinArgs: 1, MaxArgs: 1,
		bind: sameString(expr.FuncUpper, "UPPER")})
	register(&Func{Name: "INITCAP", Category: "string", Synopsis: "INITCAP(s)", Doc: "s with the first letter of every word (a run of ASCII letters and digits) in upper case and the others in lower case.", MinArgs: 1, MaxArgs: 1,
		bind: sameString(expr.FuncInitCap, "INITCAP")})
	concat := func(name string) bindFn {
		return func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			ss, err := stringArgs(c, name, args)
			if err != nil {
				return nil, err
			}
			t := types.Type{Kind: types.String, NotNull: notNull(ss...)}
			for _, s := range ss {
				if s.Type.Length == 0 {
					t.Length = 0
					break
				}
				t.Length += s.Type.Length
			}
			return expr.Call(expr.FuncConcat, t, ss...), nil
		}
	}
	register(&Func{Name: "CONCAT", Category: "string", Synopsis: "CONCAT(s1, s2, ...) or s1 || s2", Doc: "The strings joined; NULL if any is NULL.", MinArgs: 1, MaxArgs: -1,
		bind: concat("CONCAT")})
	register(&Func{Name: "CONCAT_WS", Category: "string", Synopsis: "CONCAT_WS(sep, s1, s2, ...)", Doc: "The non-NULL strings joined by sep; NULL only when sep is NULL.", MinArgs: 2, MaxArgs: -1,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			ss, err := stringArgs(c, "CONCAT_WS", args)
			if err != nil {
				return nil, err
			}
			return expr.Call(expr.FuncConcatWs, typ(types.StringType, ss[0].Type.NotNull), ss...), nil
		}})
	substring := func(name string) bindFn {
		return func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			s, err := wantString(c, name, args, 0)
			if err != nil {
				return nil, err
			}
			out := []*expr.Expr{s}
			for i := 1; i < len(args); i++ {
				a, err := wantInteger(c, name, args, i)
				if err != nil {
					return nil, err
				}
				out = append(out, a)
			}
			nn := notNull(out...)
			if len(out) == 3 {
				if n, ok := intLiteral(out[2]); !ok || n < 0 {
					nn = false // a negative length gives NULL
				}
			}
			return expr.Call(expr.FuncSubstring, stringOf(s, nn), out...), nil
		}
	}
	register(&Func{Name: "SUBSTRING", Category: "string", Synopsis: "SUBSTRING(s, pos [, len]) or SUBSTRING(s FROM pos [FOR len])", Doc: "len characters of s from position pos (1-based; a negative pos counts from the end; 0 is 1); to the end without len; '' out of range; NULL for a negative len.", MinArgs: 2, MaxArgs: 3,
		bind: substring("SUBSTRING")})
	register(&Func{Name: "SUBSTR", Category: "string", Synopsis: "SUBSTR(s, pos [, len])", Doc: "SUBSTRING.", MinArgs: 2, MaxArgs: 3,
		bind: substring("SUBSTR")})
	register(&Func{Name: "CHAR_LENGTH", Aliases: []string{"CHARACTER_LENGTH"}, Category: "string", Synopsis: "CHAR_LENGTH(s)", Doc: "The number of characters (code points) of s, as an INT.", MinArgs: 1, MaxArgs: 1,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			s, err := wantString(c, "CHAR_LENGTH", args, 0)
			if err != nil {
				return nil, err
			}
			return expr.Call(expr.FuncCharLength, typ(types.IntType, s.Type.NotNull), s), nil
		}})
	register(&Func{Name: "TRIM", Category: "string", Synopsis: "TRIM([BOTH | LEADING | TRAILING] [chars] FROM s) or TRIM(s)", Doc: "s without the leading and/or trailing characters that occur in chars (default ' ').", MinArgs: 1, MaxArgs: 3,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			s, err := wantString(c, "TRIM", args, 0)
			if err != nil {
				return nil, err
			}
			chars := strLit(" ")
			if len(args) >= 2 {
				if chars, err = wantString(c, "TRIM", args, 1); err != nil {
					return nil, err
				}
			}
			fn := expr.FuncTrim
			if len(args) == 3 {
				dir, _ := strLiteral(args[2])
				switch strings.ToUpper(dir) {
				case "BOTH":
				case "LEADING":
					fn = expr.FuncLTrim
				case "TRAILING":
					fn = expr.FuncRTrim
				default:
					return nil, c.Errorf(2, "TRIM takes BOTH, LEADING or TRAILING, not %s", dir)
				}
			}
			return expr.Call(fn, stringOf(s, notNull(s, chars)), s, chars), nil
		}})
	trimSide := func(name, fn string) bindFn {
		return func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			s, err := wantString(c, name, args, 0)
			if err != nil {
				return nil, err
			}
			return expr.Call(fn, stringOf(s, s.Type.NotNull), s, strLit(" ")), nil
		}
	}
	register(&Func{Name: "LTRIM", Category: "string", Synopsis: "LTRIM(s)", Doc: "s without leading spaces.", MinArgs: 1, MaxArgs: 1,
		bind: trimSide("LTRIM", expr.FuncLTrim)})
	register(&Func{Name: "RTRIM", Category: "string", Synopsis: "RTRIM(s)", Doc: "s without trailing spaces.", MinArgs: 1, MaxArgs: 1,
		bind: trimSide("RTRIM", expr.FuncRTrim)})
	register(&Func{Name: "REPLACE", Category: "string", Synopsis: "REPLACE(s, from, to)", Doc: "s with every non-overlapping occurrence of from replaced by to.", MinArgs: 3, MaxArgs: 3,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			ss, err := stringArgs(c, "REPLACE", args)
			if err != nil {
				return nil, err
			}
			return expr.Call(expr.FuncReplace, typ(types.StringType, notNull(ss...)), ss...), nil
		}})
	position := func(name string) bindFn {
		return func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			ss, err := stringArgs(c, name, args)
			if err != nil {
				return nil, err
			}
			return expr.Call(expr.FuncPosition, typ(types.IntType, notNull(ss...)), ss...), nil
		}
	}
	register(&Func{Name: "POSITION", Category: "string", Synopsis: "POSITION(needle IN s)", Doc: "The 1-based position of the first needle in s; 0 if none.", MinArgs: 2, MaxArgs: 2,
		bind: position("POSITION")})
	register(&Func{Name: "LOCATE", Category: "string", Synopsis: "LOCATE(needle, s)", Doc: "POSITION(needle IN s).", MinArgs: 2, MaxArgs: 2,
		bind: position("LOCATE")})
	pad := func(name, fn string) bindFn {
		return func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			s, err := wantString(c, name, args, 0)
			if err != nil {
				return nil, err
			}
			n, err := wantInteger(c, name, args, 1)
			if err != nil {
				return nil, err
			}
			p, err := wantString(c, name, args, 2)
			if err != nil {
				return nil, err
			}
			return expr.Call(fn, typ(types.StringType, false), s, n, p), nil
		}
	}
	register(&Func{Name: "LPAD", Category: "string", Synopsis: "LPAD(s, len, pad)", Doc: "s left-padded with pad to len characters (cut to len when longer); NULL if len < 0 or pad is ''.", MinArgs: 3, MaxArgs: 3,
		bind: pad("LPAD", expr.FuncLpad)})
	register(&Func{Name: "RPAD", Category: "string", Synopsis: "RPAD(s, len, pad)", Doc: "s right-padded with pad to len characters (cut to len when longer); NULL if len < 0 or pad is ''.", MinArgs: 3, MaxArgs: 3,
		bind: pad("RPAD", expr.FuncRpad)})
	register(&Func{Name: "SPLIT_INDEX", Category: "string", Synopsis: "SPLIT_INDEX(s, sep, index)", Doc: "Field index (0-based) of s split at sep; NULL when there is no such field.", MinArgs: 3, MaxArgs: 3,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			s, err := wantString(c, "SPLIT_INDEX", args, 0)
			if err != nil {
				return nil, err
			}
			sep, err := wantString(c, "SPLIT_INDEX", args, 1)
			if err != nil {
				return nil, err
			}
			idx, err := wantInteger(c, "SPLIT_INDEX", args, 2)
			if err != nil {
				return nil, err
			}
			return expr.Call(expr.FuncSplitIndex, typ(types.StringType, false), s, sep, idx), nil
		}})
	like := func(name string, fold bool) bindFn {
		return func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			escape := `\`
			if len(args) == 3 {
				lit, ok := strLiteral(args[2])
				if !ok {
					return nil, c.Errorf(2, "the ESCAPE of %s must be a string literal", name)
				}
				escape = lit
			}
			s, p := args[0], args[1]
			if fold {
				// ILIKE: both sides in lower case (Unicode simple folding).
				var err error
				if s, err = wantString(c, name, args, 0); err != nil {
					return nil, err
				}
				if p, err = wantString(c, name, args, 1); err != nil {
					return nil, err
				}
				s = expr.Call(expr.FuncLower, stringOf(s, s.Type.NotNull), s)
				if lit, ok := strLiteral(p); ok {
					p = strLit(strings.ToLower(lit))
				} else {
					p = expr.Call(expr.FuncLower, stringOf(p, p.Type.NotNull), p)
				}
			}
			return Like(c, s, p, escape, false)
		}
	}
	register(&Func{Name: "LIKE", Category: "string", Synopsis: "s LIKE pattern [ESCAPE c]", Doc: "TRUE if all of s matches pattern: % any characters, _ one character; the escape character (default '\\') makes the next %, _ or itself literal.", MinArgs: 2, MaxArgs: 3,
		bind: like("LIKE", false)})
	register(&Func{Name: "ILIKE", Category: "string", Synopsis: "s ILIKE pattern [ESCAPE c]", Doc: "LIKE ignoring case.", MinArgs: 2, MaxArgs: 3,
		bind: like("ILIKE", true)})
	register(&Func{Name: "REGEXP", Category: "string", Synopsis: "REGEXP(s, pattern) or s REGEXP pattern", Doc: "TRUE if a substring of s matches the regular expression (RE2 syntax).", MinArgs: 2, MaxArgs: 2,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) { return bindRegexp(c, args, false) }})
	register(&Func{Name: "REGEXP_EXTRACT", Category: "string", Synopsis: "REGEXP_EXTRACT(s, pattern [, group])", Doc: "Group group (default 0: the whole match) of the first match of pattern in s; NULL when none.", MinArgs: 2, MaxArgs: 3,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			s, err := wantString(c, "REGEXP_EXTRACT", args, 0)
			if err != nil {
				return nil, err
			}
			p, err := regexpPattern(c, "REGEXP_EXTRACT", args, 1)
			if err != nil {
				return nil, err
			}
			out := []*expr.Expr{s, p}
			if len(args) == 3 {
				g, err := wantInteger(c, "REGEXP_EXTRACT", args, 2)
				if err != nil {
					return nil, err
				}
				out = append(out, g)
			}
			return expr.Call(expr.FuncRegexpExtract, typ(types.StringType, false), out...), nil
		}})
}

// regexpPattern checks a pattern argument; a constant one must compile.
func regexpPattern(c Ctx, name string, args []*expr.Expr, i int) (*expr.Expr, error) {
	p, err := wantString(c, name, args, i)
	if err != nil {
		return nil, err
	}
	if s, ok := strLiteral(p); ok && s != "" {
		if _, err := expr.CompileRegexp(s); err != nil {
			return nil, c.Errorf(i, "%s: %v", name, err)
		}
	}
	return p, nil
}

// bindRegexp binds REGEXP(s, pattern), negated for NOT REGEXP.
func bindRegexp(c Ctx, args []*expr.Expr, not bool) (*expr.Expr, error) {
	s, err := wantString(c, "REGEXP", args, 0)
	if err != nil {
		return nil, err
	}
	p, err := regexpPattern(c, "REGEXP", args, 1)
	if err != nil {
		return nil, err
	}
	t := typ(types.BooleanType, notNull(s, p))
	out := expr.Call(expr.FuncRegexp, t, s, p)
	if not {
		out = expr.Call(expr.FuncNot, t, out)
	}
	return out, nil
}

// Regexp binds the infix s REGEXP pattern (s NOT REGEXP pattern when not);
// argument 0 is s, 1 the pattern.
func Regexp(c Ctx, s, pattern *expr.Expr, not bool) (*expr.Expr, error) {
	return bindRegexp(c, []*expr.Expr{s, pattern}, not)
}

// Like binds s LIKE pattern [ESCAPE escape] (NOT LIKE when not); argument
// 0 is s, 1 the pattern. escape is the escape character ("" for none); a
// constant pattern must be valid.
func Like(c Ctx, s, pattern *expr.Expr, escape string, not bool) (*expr.Expr, error) {
	args := []*expr.Expr{s, pattern}
	s, err := wantString(c, "LIKE", args, 0)
	if err != nil {
		return nil, err
	}
	p, err := wantString(c, "LIKE", args, 1)
	if err != nil {
		return nil, err
	}
	if lit, ok := strLiteral(p); ok {
		if err := expr.CheckLikePattern(lit, escape); err != nil {
			return nil, c.Errorf(1, "%v", err)
		}
	} else if err := expr.CheckLikePattern("", escape); err != nil {
		return nil, c.Errorf(1, "%v", err)
	}
	t := typ(types.BooleanType, notNull(s, p))
	out := expr.Call(expr.FuncLike, t, s, p, strLit(escape))
	if not {
		out = expr.Call(expr.FuncNot, t, out)
	}
	return out, nil
}
