package parse

import (
	"strings"
)

// windowSig describes the parameters of a window table function.
type windowSig struct {
	// params are the named parameters in positional order.
	params []string
	// required is how many of params must be given.
	required int
	form     string // the call's form, for error messages
}

var windowSigs = map[string]windowSig{
	"TUMBLE":   {[]string{"DATA", "TIMECOL", "SIZE", "OFFSET"}, 3, "TUMBLE(TABLE t, DESCRIPTOR(ts), size [, offset])"},
	"HOP":      {[]string{"DATA", "TIMECOL", "SLIDE", "SIZE", "OFFSET"}, 4, "HOP(TABLE t, DESCRIPTOR(ts), slide, size [, offset])"},
	"CUMULATE": {[]string{"DATA", "TIMECOL", "STEP", "SIZE", "OFFSET"}, 4, "CUMULATE(TABLE t, DESCRIPTOR(ts), step, max size [, offset])"},
	"SESSION":  {[]string{"DATA", "TIMECOL", "GAP"}, 3, "SESSION(TABLE t [PARTITION BY k], DESCRIPTOR(ts), gap)"},
}

// tvfArg is one parsed argument of a window TVF call.
type tvfArg struct {
	first   token // the first token of the argument (after NAME =>)
	name    string
	named   bool
	kind    string // "table", "descriptor", "interval" or "other"
	table   Ident
	parts   []Ident
	timeCol Ident
	iv      Interval
}

// tvf parses TABLE(KIND(args)) at toks[i] (toks[i] is TABLE, toks[i+1] is
// '('). It returns the call and the index after its last ')'.
func (r *queryRewriter) tvf(i int) (*WindowTVF, int, error) {
	toks, src := r.toks, r.src
	outer := closeParen(toks, i+1)
	if outer < 0 {
		return nil, 0, src.errorf(toks[i+1].start, "'(' of TABLE(...) is never closed")
	}
	c := &cursor{src: src, toks: toks[i+2 : outer], end: toks[outer].start, endTok: &toks[outer]}
	kt := c.peek()
	if !kt.isName() || !c.peekAt(1).isOp("(") {
		return nil, 0, c.unexpected("a window function call such as TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE)")
	}
	kind := strings.ToUpper(kt.val)
	sig, ok := windowSigs[kind]
	if !ok || kt.kind != tokIdent {
		return nil, 0, c.errAt(kt, "unknown window function %s: expected TUMBLE, HOP, CUMULATE or SESSION", describe(src, kt))
	}
	tvf := &WindowTVF{At: src.pos(toks[i].start), Kind: kind}
	open := i + 3
	inner := closeParen(toks, open)
	if inner < 0 || inner > outer {
		return nil, 0, src.errorf(toks[open].start, "'(' of %s is never closed", kind)
	}
	if inner+1 != outer {
		return nil, 0, src.errorf(toks[inner+1].start, "syntax error at or near %s: expected ')' to close TABLE(", describe(src, toks[inner+1]))
	}
	// Split the arguments at top-level commas.
	var args []tvfArg
	from, depth := open+1, 0
	for k := open + 1; k <= inner; k++ {
		t := toks[k]
		switch {
		case t.isOp("("):
			depth++
			continue
		case t.isOp(")") && k < inner:
			depth--
			continue
		case !(k == inner || (t.isOp(",") && depth == 0)):
			continue
		}
		if k == from {
			if k == inner && len(args) == 0 {
				break // no arguments at all
			}
			return nil, 0, src.errorf(t.start, "syntax error at or near %s: expected an argument of %s", describe(src, t), kind)
		}
		a, err := r.tvfArg(kind, toks[from:k], t)
		if err != nil {
			return nil, 0, err
		}
		args = append(args, a)
		from = k + 1
	}
	// Positional arguments of the right kinds in the wrong order.
	if len(args) >= 2 && !args[0].named {
		want := []string{"table", "descriptor"}
		has := map[string]int{}
		for _, a := range args {
			has[a.kind]++
		}
		if has["table"] == 1 && has["descriptor"] == 1 && (args[0].kind != "table" || args[1].kind == "interval") {
			for k, w := range want {
				if args[k].kind != w {
					return nil, 0, src.errorf(args[k].first.start, "the arguments of %s are out of order: write %s", kind, sig.form)
				}
			}
			for k := 2; k < len(args); k++ {
				if args[k].kind != "interval" && args[k].kind != "other" {
					return nil, 0, src.errorf(args[k].first.start, "the arguments of %s are out of order: write %s", kind, sig.form)
				}
			}
		}
	}
	// Place the arguments into the parameters.
	slots := make([]*tvfArg, len(sig.params))
	for n := range args {
		a := &args[n]
		if n > 0 && a.named != args[0].named {
			return nil, 0, src.errorf(a.first.start, "mix of named and positional arguments in %s: name all of them or none", kind)
		}
		idx := n
		if a.named {
			idx = -1
			for k, p := range sig.params {
				if strings.EqualFold(p, a.name) {
					idx = k
				}
			}
			if idx < 0 {
				return nil, 0, src.errorf(a.first.start, "%s has no parameter named %s: its parameters are %s", kind, strings.ToUpper(a.name), strings.Join(sig.params, ", "))
			}
			if slots[idx] != nil {
				return nil, 0, src.errorf(a.first.start, "parameter %s of %s is given twice", sig.params[idx], kind)
			}
		} else if idx >= len(sig.params) {
			if len(args[0].parts) > 0 && args[1].kind == "other" && args[1].first.isName() {
				return nil, 0, src.errorf(args[1].first.start, "to partition a SESSION window by several columns, write PARTITION BY (%s, %s)", args[0].parts[0].Name, args[1].first.val)
			}
			return nil, 0, src.errorf(a.first.start, "too many arguments: %s takes %s", kind, sig.form)
		}
		slots[idx] = a
	}
	for k := range sig.required {
		if slots[k] == nil {
			return nil, 0, src.errorf(toks[inner].start, "%s is missing its %s argument: %s", kind, paramDesc(sig.params[k]), sig.form)
		}
	}
	for k, a := range slots {
		if a == nil {
			continue
		}
		p := sig.params[k]
		switch p {
		case "DATA":
			if a.kind != "table" {
				return nil, 0, src.errorf(a.first.start, "the first argument of %s must be TABLE name, as in %s", kind, sig.form)
			}
			if len(a.parts) > 0 && kind != "SESSION" {
				return nil, 0, src.errorf(a.parts[0].At.Offset, "PARTITION BY is only allowed in SESSION windows")
			}
			tvf.Table, tvf.TablePos, tvf.PartitionBy = a.table.Name, a.table.At, a.parts
		case "TIMECOL":
			if a.kind != "descriptor" {
				msg := "the time column argument of %s must be DESCRIPTOR(column), as in %s"
				if a.first.isName() && slots[0] != nil && len(slots[0].parts) > 0 {
					msg += "; to partition by several columns write PARTITION BY (a, b)"
				}
				return nil, 0, src.errorf(a.first.start, msg, kind, sig.form)
			}
			tvf.TimeCol = a.timeCol
		default:
			if a.kind != "interval" {
				return nil, 0, src.errorf(a.first.start, "the %s argument of %s must be an INTERVAL literal such as INTERVAL '1' MINUTE", paramDesc(p), kind)
			}
			tvf.Args = append(tvf.Args, a.iv)
		}
	}
	return tvf, outer + 1, nil
}

// paramDesc names a window parameter in messages.
func paramDesc(p string) string {
	switch p {
	case "DATA":
		return "TABLE"
	case "TIMECOL":
		return "DESCRIPTOR(time column)"
	case "SIZE":
		return "size"
	case "SLIDE":
		return "slide"
	case "STEP":
		return "step"
	case "GAP":
		return "gap"
	}
	return strings.ToLower(p)
}

// tvfArg parses one argument of a window TVF: [NAME =>] TABLE t [PARTITION
// BY ...] | DESCRIPTOR(col) | INTERVAL 'n' UNIT | anything else ("other").
// end is the offset of the ',' or ')' after it.
func (r *queryRewriter) tvfArg(kind string, toks []token, end token) (tvfArg, error) {
	src := r.src
	c := &cursor{src: src, toks: toks, end: end.start, endTok: &end}
	var a tvfArg
	if c.peek().kind == tokIdent && c.peekAt(1).isOp("=>") {
		a.name, a.named = c.next().val, true
		c.next()
		if c.atEnd() {
			return a, c.unexpected("an argument after " + strings.ToUpper(a.name) + " =>")
		}
	}
	a.first = c.peek()
	t := c.peek()
	switch {
	case t.is("TABLE") && c.peekAt(1).isName():
		c.next()
		a.kind = "table"
		name, _ := c.name("a table name")
		if c.peek().isOp(".") {
			return a, c.errAt(c.peek(), "qualified table names (catalog.database.table) are not supported yet")
		}
		a.table = name
		if c.peek().is("PARTITION") {
			c.next()
			if err := c.word("BY"); err != nil {
				return a, err
			}
			if c.peek().isOp("(") {
				c.next()
				for {
					id, err := c.name("a column name")
					if err != nil {
						return a, err
					}
					a.parts = append(a.parts, id)
					if c.peek().isOp(",") {
						c.next()
						continue
					}
					if err := c.op(")"); err != nil {
						return a, err
					}
					break
				}
			} else {
				id, err := c.name("a column name")
				if err != nil {
					return a, err
				}
				a.parts = append(a.parts, id)
			}
		}
	case t.is("TABLE"):
		c.next()
		return a, c.unexpected("a table name after TABLE")
	case t.is("DESCRIPTOR") && c.peekAt(1).isOp("("):
		c.next()
		c.next()
		a.kind = "descriptor"
		col, err := c.name("the time column in DESCRIPTOR(...)")
		if err != nil {
			return a, err
		}
		if c.peek().isOp(",") {
			return a, c.errAt(c.peek(), "DESCRIPTOR of a window takes exactly one time column")
		}
		if c.peek().isOp(".") {
			return a, c.errAt(c.peek(), "write the time column in DESCRIPTOR(...) without a qualifier")
		}
		if err := c.op(")"); err != nil {
			return a, err
		}
		a.timeCol = col
	case t.is("INTERVAL") && (c.peekAt(1).kind == tokString || c.peekAt(1).kind == tokNumber):
		iv, unit, _, err := interval(src, toks, c.i)
		if err != nil {
			return a, err
		}
		a.kind, a.iv = "interval", iv
		c.i = unit + 1
	default:
		a.kind = "other"
		return a, nil
	}
	if !c.atEnd() {
		return a, c.unexpected("',' or ')' after the argument of " + kind)
	}
	return a, nil
}
