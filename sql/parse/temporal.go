package parse

import (
	"fmt"
	"strings"
)

// systemTime rewrites FOR SYSTEM_TIME AS OF col [[AS] alias], which starts at
// toks[i] and follows a table name, into [AS alias] AS OF TIMESTAMP col,
// TiDB's form, and remembers the clause under the rewritten offset of col
// (Query.SystemTime).
func (r *queryRewriter) systemTime(i int) error {
	toks := r.toks
	at := func(k int) token {
		if k >= 0 && k < len(toks) {
			return toks[k]
		}
		return eofTok
	}
	forTok := toks[i]
	if !at(i+2).is("AS") || !at(i+3).is("OF") {
		return r.src.errorf(forTok.start, "syntax error at or near 'FOR SYSTEM_TIME': expected FOR SYSTEM_TIME AS OF column")
	}
	prev := at(i - 1)
	if i == 0 || !prev.isName() || (prev.kind == tokIdent && (joinStops[strings.ToUpper(prev.val)] || prev.is("FROM") || prev.is("OUTER"))) {
		return r.src.errorf(forTok.start, "FOR SYSTEM_TIME AS OF must follow a table name: the right side of a temporal join is a table, as in JOIN rates FOR SYSTEM_TIME AS OF o.order_time AS r ON ...")
	}
	if before := at(i - 2); i >= 2 && (before.is("AS") || (before.isName() && !(before.kind == tokIdent && (joinStops[strings.ToUpper(before.val)] || before.is("FROM") || before.is("OUTER") || before.is("LATERAL"))))) {
		table := at(i - 2)
		if table.is("AS") {
			table = at(i - 3)
		}
		return r.src.errorf(prev.start, "the alias of a temporal join's table goes after FOR SYSTEM_TIME AS OF: JOIN %s FOR SYSTEM_TIME AS OF o.order_time AS %s", table.val, prev.val)
	}
	col := i + 4
	k := col
	notColumn := func() error {
		return r.src.errorf(at(col).start, "FOR SYSTEM_TIME AS OF takes a time attribute column of the left side of the join (e.g. o.proc_time or o.order_time), not an expression")
	}
	if !at(k).isName() {
		if at(k).start < 0 {
			return r.src.errorf(forTok.start, "syntax error: FOR SYSTEM_TIME AS OF needs a column")
		}
		return notColumn()
	}
	k++
	if at(k).isOp(".") {
		if !at(k + 1).isName() {
			return notColumn()
		}
		k += 2
	}
	if n := at(k); (n.kind == tokOp && n.start >= 0 && !n.isOp(",") && !n.isOp(")")) || n.kind == tokString || n.kind == tokNumber {
		return notColumn()
	}
	// The alias, if any, moves in front of AS OF.
	alias, aliasEnd := "", k
	switch n := at(k); {
	case n.is("AS"):
		if !at(k + 1).isName() {
			return r.src.errorf(n.start, "syntax error at or near 'AS': expected the alias of the temporal join's table")
		}
		alias, aliasEnd = at(k+1).val, k+2
	case n.kind == tokQuoted || (n.kind == tokIdent && !joinStops[strings.ToUpper(n.val)] && !n.is("ON") && !n.is("USING")):
		alias, aliasEnd = n.val, k+1
	}
	text := " AS OF TIMESTAMP "
	if alias != "" {
		text = " AS `" + strings.ReplaceAll(alias, "`", "``") + "`" + text
	}
	r.replace(i, i+4, text, forTok.start)
	if aliasEnd > k {
		r.replace(k, aliasEnd, " ", toks[k].start)
	}
	st := SystemTime{At: r.src.pos(forTok.start)}
	r.marks[col] = func(off int) { r.st.systemTimes[off] = st }
	return nil
}

// hintBlocks finds the hint comments (/*+ ... */) inside the query. Each
// must directly follow a SELECT keyword: its hints are parsed and a QB_NAME
// hint naming them is written in its place for TiDB, which keeps it on the
// *ast.SelectStmt (Query.Hints). A hint comment anywhere else is an error.
func (r *queryRewriter) hintBlocks(to int) error {
	toks := r.toks
	from := toks[0].start
	k, lastK := 0, -1 // the first token after the hint, and after the previous one
	for _, h := range r.p.hints {
		if h.start < from || h.start >= to {
			continue
		}
		for k < len(toks) && toks[k].start < h.start {
			k++
		}
		if k == 0 || k == len(toks) || !toks[k-1].is("SELECT") {
			return r.src.errorf(h.start, "hints are only supported right after SELECT, as in SELECT /*+ STATE_TTL('t' = '1d') */ ...; table hints such as OPTIONS(...) are not supported")
		}
		if k == lastK {
			return r.src.errorf(h.start, "only one hint block /*+ ... */ is allowed after a SELECT: put every hint in it, separated by commas")
		}
		lastK = k
		name := fmt.Sprintf("%sqb_%d", reservedPrefix, len(r.st.hints)+1)
		hs, err := parseHints(r.src, h)
		if err != nil {
			return err
		}
		r.st.hints[name] = hs
		r.insert(k, " /*+ QB_NAME("+name+") */ ", toks[k-1].end)
	}
	return nil
}

// knownHints are the query hints Eddy understands.
var knownHints = []string{"STATE_TTL"}

// parseHints parses the hints of one hint comment:
// hint [[,] hint ...] where hint is NAME [(key = 'value' [, ...])].
func parseHints(src *source, h hintComment) ([]Hint, error) {
	base := h.start + 3
	body := src.text[base : h.end-2]
	raw, _, lerr := lex(body)
	if lerr != nil {
		return nil, src.errorf(base+lerr.off, "in a hint: %s", lerr.msg)
	}
	toks := make([]token, len(raw))
	for i, t := range raw {
		t.start += base
		t.end += base
		toks[i] = t
	}
	at := func(i int) token {
		if i < len(toks) {
			return toks[i]
		}
		return token{kind: tokOp, start: h.end - 2, end: h.end, val: "*/"}
	}
	if len(toks) == 0 {
		return nil, src.errorf(h.start, "empty hint block /*+ */: write a hint, e.g. /*+ STATE_TTL('t' = '1d') */")
	}
	var out []Hint
	for i := 0; i < len(toks); {
		t := toks[i]
		if t.kind != tokIdent {
			return nil, src.errorf(t.start, "syntax error at or near %s: expected a hint name (%s)", describe(src, t), strings.Join(knownHints, ", "))
		}
		name := strings.ToUpper(t.val)
		known := false
		for _, k := range knownHints {
			known = known || k == name
		}
		if !known {
			return nil, src.errorf(t.start, "unknown hint '%s' (supported hints: %s)", t.val, strings.Join(knownHints, ", "))
		}
		hint := Hint{Name: name, At: src.pos(t.start)}
		i++
		if !at(i).isOp("(") {
			return nil, src.errorf(t.start, "hint %s needs options: %s('input' = 'duration', ...)", name, name)
		}
		i++
		for {
			kt := at(i)
			if kt.kind != tokString && kt.kind != tokIdent && kt.kind != tokQuoted {
				return nil, src.errorf(kt.start, "syntax error at or near %s: expected a hint option key ('key' = 'value')", describe(src, kt))
			}
			if !at(i + 1).isOp("=") {
				return nil, src.errorf(at(i+1).start, "syntax error at or near %s: expected '=' after the hint option key", describe(src, at(i+1)))
			}
			vt := at(i + 2)
			if vt.kind != tokString {
				return nil, src.errorf(vt.start, "syntax error at or near %s: the value of a hint option is a 'string'", describe(src, vt))
			}
			hint.Options = append(hint.Options, HintOption{Key: kt.val, At: src.pos(kt.start), Value: vt.val, ValuePos: src.pos(vt.start)})
			i += 3
			if at(i).isOp(",") {
				i++
				continue
			}
			if !at(i).isOp(")") {
				return nil, src.errorf(at(i).start, "syntax error at or near %s: expected ',' or ')' in hint %s", describe(src, at(i)), name)
			}
			i++
			break
		}
		out = append(out, hint)
		if at(i).isOp(",") {
			i++
			if i >= len(toks) {
				return nil, src.errorf(toks[i-1].start, "syntax error: a hint must follow ','")
			}
		}
	}
	return out, nil
}
