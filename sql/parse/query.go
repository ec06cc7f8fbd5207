package parse

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	// TiDB's parser needs a driver for literal values; this is the parser
	// module's own light one. Literals are *test_driver.ValueExpr
	// (ast.ValueExpr: GetValue returns int64, uint64, float64, string,
	// *test_driver.MyDecimal or nil for NULL).
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/eddy-streaming/eddy/engine/types"
)

// sqlMode is the TiDB SQL mode closest to Flink SQL: || concatenates,
// backslash is an ordinary character in strings, and a function name may be
// followed by a space before its '('.
const sqlMode = mysql.ModePipesAsConcat | mysql.ModeNoBackslashEscapes | mysql.ModeIgnoreSpace

// stmtText is the text TiDB parsed for one query or expression, and the
// position map back to the script.
type stmtText struct {
	src  *source
	toks []token // the query's tokens in the script
	// after is the token that ends an expression (',' or ')'), for error
	// messages; nil for a query.
	after []token
	what  string // "query" or "expression"
	start int    // script offset where the query starts
	text  string // the rewritten text TiDB parsed
	pm    posMap
	// casts maps the rewritten offset of each CAST keyword the rewrite
	// marked to its index in Query.Casts.
	casts map[int]int
	// intervals maps the rewritten offset of the value literal of each
	// INTERVAL 'n' UNIT in an expression to the interval.
	intervals map[int]Interval
	// aggFilters maps aggregate calls to their FILTER (WHERE ...)
	// condition.
	aggFilters map[*ast.AggregateFuncExpr]ast.ExprNode
	// tfuncs maps the rewritten offset of the name of each table function
	// call to its index in tfList.
	tfuncs map[int]int
	tfList []TableFunc
	// fullJoins holds the FULL JOINs (written as LEFT JOIN for TiDB).
	fullJoins map[*ast.Join]bool
	// systemTimes maps the rewritten offset of the column of each FOR
	// SYSTEM_TIME AS OF col (written AS OF TIMESTAMP col for TiDB) to the
	// clause.
	systemTimes map[int]SystemTime
	// hints maps the QB_NAME the rewrite gave each SELECT with a hint block
	// to its hints.
	hints map[string][]Hint
	// distinct holds the rewritten offsets of the right operands of the
	// l <=> r that stand for l IS DISTINCT FROM r (negated after parsing).
	distinct map[int]bool
}

// placeholderName is the table name that stands for the n-th window TVF of
// a query in the rewritten text (n from 1). The lexer rejects user
// identifiers with this prefix, so it cannot collide with user SQL.
func placeholderName(n int) string { return fmt.Sprintf("%stvf_%d", reservedPrefix, n) }

// query rewrites the Flink-only forms of a query and parses it with TiDB.
// end is the script offset the end of the query maps to.
func (p *scriptParser) query(toks []token, end int) (*Query, error) {
	q, st, err := p.rewrite(toks, end, "", "")
	if err != nil {
		return nil, err
	}
	st.what = "query"
	node, err := p.parseTiDB(q, st)
	if err != nil {
		return nil, err
	}
	rs, ok := node.(ast.ResultSetNode)
	if _, isSel := node.(*ast.SelectStmt); !ok || !(isSel || isSetOpr(node)) {
		return nil, q.Errorf(q.Start(), "expected a SELECT query")
	}
	q.Node = rs
	if err := q.normalize(); err != nil {
		return nil, err
	}
	if err := q.check(); err != nil {
		return nil, err
	}
	return q, nil
}

func isSetOpr(n ast.Node) bool {
	_, ok := n.(*ast.SetOprStmt)
	return ok
}

// expression parses toks as one scalar expression: TiDB parses it as
// SELECT (expr). end is the script offset of the token that ends it.
func (p *scriptParser) expression(toks []token, end token) (*Query, ast.ExprNode, error) {
	q, st, err := p.rewrite(toks, end.start, "SELECT (", ")")
	if err != nil {
		return nil, nil, err
	}
	st.what, st.after = "expression", []token{end}
	node, err := p.parseTiDB(q, st)
	if err != nil {
		return nil, nil, err
	}
	sel, ok := node.(*ast.SelectStmt)
	if !ok || sel.Fields == nil || len(sel.Fields.Fields) != 1 || sel.From != nil || sel.Where != nil {
		return nil, nil, q.Errorf(q.Start(), "expected an expression")
	}
	f := sel.Fields.Fields[0]
	if _, ok := f.Expr.(*ast.ParenthesesExpr); !ok || f.AsName.L != "" {
		return nil, nil, q.Errorf(q.Start(), "expected an expression")
	}
	q.Node = sel
	if err := q.normalize(); err != nil {
		return nil, nil, err
	}
	paren, ok := sel.Fields.Fields[0].Expr.(*ast.ParenthesesExpr)
	if !ok {
		return nil, nil, q.Errorf(q.Start(), "expected an expression")
	}
	if err := q.check(); err != nil {
		return nil, nil, err
	}
	return q, paren.Expr, nil
}

// parseTiDB runs TiDB's parser on the rewritten text and maps its errors.
func (p *scriptParser) parseTiDB(q *Query, st *stmtText) (node ast.StmtNode, err error) {
	if p.tidb == nil {
		p.tidb = parser.New()
		p.tidb.SetSQLMode(sqlMode)
		p.tidb.EnableWindowFunc(true)
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				p.tidb = nil // its state is unknown now
				err = q.Errorf(q.Start(), "internal error in the SQL parser: %v", r)
			}
		}()
		node, err = p.tidb.ParseOneStmt(st.text, "", "")
	}()
	if err != nil {
		if e, ok := err.(*Error); ok {
			return nil, e
		}
		return nil, p.tidbError(st, err)
	}
	return node, nil
}

// tidbErrRE matches the syntax errors of TiDB's parser.
var tidbErrRE = regexp.MustCompile(`(?s)^line (\d+) column (\d+) near "(.*)"(.*)$`)
var tidbCodeRE = regexp.MustCompile(`^\[\w+:\d+\]`)
var tidbTotalRE = regexp.MustCompile(`\(total length (\d+)\)`)

// tidbError rewords a TiDB parse error and positions it in the script.
func (p *scriptParser) tidbError(st *stmtText, err error) *Error {
	msg := err.Error()
	m := tidbErrRE.FindStringSubmatch(msg)
	if m == nil {
		return st.src.errorf(st.start, "%s", tidbCodeRE.ReplaceAllString(msg, ""))
	}
	near, rest := m[3], m[4]
	off := len(st.text) - len(near)
	if t := tidbTotalRE.FindStringSubmatch(rest); t != nil {
		if n, err := strconv.Atoi(t[1]); err == nil {
			off = len(st.text) - n
		}
	}
	orig := st.pm.orig(off)
	if strings.TrimSpace(near) == "" && len(st.after) == 0 {
		return st.src.errorf(orig, "syntax error: unexpected end of %s", st.what)
	}
	// The token of the script at (or else after) orig.
	toks := append(st.toks[:len(st.toks):len(st.toks)], st.after...)
	k := -1
	for i, t := range toks {
		if t.end > orig {
			k = i
			break
		}
	}
	if k < 0 {
		return st.src.errorf(orig, "syntax error: unexpected end of %s", st.what)
	}
	if k >= 2 && toks[k].isOp("(") && toks[k-1].isName() && (toks[k-2].is("AS") || toks[k-2].isOp(")")) {
		return st.src.errorf(toks[k].start, "column alias lists (AS t(a, b)) are only supported on LATERAL TABLE(...) yet: rename the columns in the SELECT list")
	}
	if h := reservedHint(toks, k); h >= 0 {
		t := toks[h]
		return st.src.errorf(t.start, "syntax error at or near %s: %s is a reserved word, write `%s` to use it as a name",
			describe(st.src, t), strings.ToUpper(t.val), t.val)
	}
	return st.src.errorf(toks[k].start, "syntax error at or near %s", describe(st.src, toks[k]))
}

// queryRewriter rewrites the tokens of one query into the text TiDB parses.
type queryRewriter struct {
	p    *scriptParser
	src  *source
	toks []token
	w    rewriter
	q    *Query
	st   *stmtText
	last int // script offset up to which the text was copied
	// castAS maps the index of the AS token of a pending CAST to the cast.
	castAS map[int]pendingCast
	tvfs   int
	// edits[i] replaces toks[i:end] (end == i: inserts before toks[i]).
	edits map[int]edit
	// marks[i] is called with the rewritten offset at which toks[i] (or
	// the text an edit puts in its place) starts.
	marks map[int]func(off int)
	// inspected holds the indices of the call names already looked at.
	inspected map[int]bool
	tfns      int
	// tail is text appended after the last token.
	tail string
}

type pendingCast struct {
	close  int    // index of the CAST's ')'
	target string // the type TiDB sees
}

// edit replaces the tokens toks[i:end] of a query by text, which maps to
// the script offset anchor.
type edit struct {
	end    int
	text   string
	anchor int
}

// insert schedules text to be written right before toks[i] (or after the
// last token when i is past the end).
func (r *queryRewriter) insert(i int, text string, anchor int) {
	if i >= len(r.toks) {
		r.tail += text
		return
	}
	if e, ok := r.edits[i]; ok {
		e.text = text + e.text
		r.edits[i] = e
		return
	}
	r.edits[i] = edit{end: i, text: text, anchor: anchor}
}

// replace schedules toks[i:end] to be replaced by text. It merges with an
// insertion already scheduled there.
func (r *queryRewriter) replace(i, end int, text string, anchor int) {
	if e, ok := r.edits[i]; ok && e.end == i {
		text = e.text + text
	}
	r.edits[i] = edit{end: end, text: text, anchor: anchor}
}

// rewrite turns toks into the text TiDB parses, wrapped in prefix and
// suffix, and returns the Query that maps it back.
func (p *scriptParser) rewrite(toks []token, end int, prefix, suffix string) (*Query, *stmtText, error) {
	st := &stmtText{src: p.src, toks: toks, start: toks[0].start, casts: map[int]int{}, intervals: map[int]Interval{},
		aggFilters: map[*ast.AggregateFuncExpr]ast.ExprNode{}, tfuncs: map[int]int{}, fullJoins: map[*ast.Join]bool{}, distinct: map[int]bool{},
		systemTimes: map[int]SystemTime{}, hints: map[string][]Hint{}}
	q := &Query{TVFs: map[string]*WindowTVF{}, stmt: st}
	r := &queryRewriter{p: p, src: p.src, toks: toks, w: rewriter{clean: p.clean}, q: q, st: st,
		last: toks[0].start, castAS: map[int]pendingCast{}, edits: map[int]edit{}, marks: map[int]func(int){},
		inspected: map[int]bool{}}
	r.w.write(prefix, toks[0].start)
	if err := r.hintBlocks(max(end, toks[len(toks)-1].end)); err != nil {
		return nil, nil, err
	}
	if err := r.walk(); err != nil {
		return nil, nil, err
	}
	r.w.copy(r.last, toks[len(toks)-1].end)
	r.w.write(r.tail, toks[len(toks)-1].end)
	r.w.write(suffix, end)
	st.text = r.w.buf.String()
	st.pm = posMap{segs: r.w.segs, n: len(st.text), end: end}
	return q, st, nil
}

// flush copies the script text up to off.
func (r *queryRewriter) flush(off int) {
	r.w.copy(r.last, off)
	r.last = off
}

// groupWindowFuncs are Flink's legacy group window functions.
var groupWindowFuncs = map[string]bool{
	"TUMBLE": true, "HOP": true, "SESSION": true, "CUMULATE": true,
	"TUMBLE_START": true, "TUMBLE_END": true, "TUMBLE_ROWTIME": true, "TUMBLE_PROCTIME": true,
	"HOP_START": true, "HOP_END": true, "HOP_ROWTIME": true, "HOP_PROCTIME": true,
	"SESSION_START": true, "SESSION_END": true, "SESSION_ROWTIME": true, "SESSION_PROCTIME": true,
}

// walk rewrites the query's tokens.
func (r *queryRewriter) walk() error {
	toks := r.toks
	at := func(i int) token {
		if i < len(toks) {
			return toks[i]
		}
		return eofTok
	}
	for i := 0; i < len(toks); {
		t := toks[i]
		if f := r.marks[i]; f != nil {
			delete(r.marks, i)
			f(r.w.buf.Len() + t.start - r.last)
		}
		if e, ok := r.edits[i]; ok {
			delete(r.edits, i)
			r.flush(t.start)
			r.w.write(e.text, e.anchor)
			if e.end > i {
				r.last = toks[e.end-1].end
				i = e.end
				continue
			}
		}
		switch {
		case t.is("TABLE") && at(i+1).isOp("("):
			if r.isTableFunc(i) {
				if err := r.tableFunc(i); err != nil {
					return err
				}
				continue // the edit at i applies now
			}
			tvf, next, err := r.tvf(i)
			if err != nil {
				return err
			}
			r.tvfs++
			name := placeholderName(r.tvfs)
			r.q.TVFs[name] = tvf
			r.flush(t.start)
			r.w.write(" "+name+" ", t.start)
			r.last = toks[next-1].end
			i = next
		case t.is("INTERVAL") && (at(i+1).kind == tokString || at(i+1).kind == tokNumber):
			iv, unit, singular, err := interval(r.src, toks, i)
			if err != nil {
				return err
			}
			r.flush(toks[i+1].start)
			r.st.intervals[r.w.buf.Len()] = iv
			r.flush(toks[unit].start)
			if singular != "" {
				r.w.write(singular, toks[unit].start)
				r.last = toks[unit].end
			}
			i = unit + 1
		case (t.is("CAST") || t.is("TRY_CAST")) && at(i+1).isOp("("):
			if err := r.cast(i); err != nil {
				return err
			}
			i++
		case r.castAS[i].target != "":
			pc := r.castAS[i]
			r.flush(t.end)
			r.w.write(" "+pc.target, toks[i+1].start)
			r.last = toks[pc.close].start
			i = pc.close
		case t.is("NULLS") && (at(i+1).is("FIRST") || at(i+1).is("LAST")):
			if err := r.nulls(i); err != nil {
				return err
			}
			i += 2
		case t.kind == tokIdent && groupWindowFuncs[strings.ToUpper(t.val)] && at(i+1).isOp("("):
			return r.src.errorf(t.start, "group window function %s(...) is not supported: use a window table function, e.g. FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) with GROUP BY window_start, window_end", strings.ToUpper(t.val))
		case t.is("DESCRIPTOR") && at(i+1).isOp("("):
			return r.src.errorf(t.start, "DESCRIPTOR(...) is only allowed as an argument of a window table function")
		case t.isOp("=>"):
			return r.src.errorf(t.start, "named arguments (=>) are only allowed in window table functions")
		case t.kind == tokNumber:
			if err := checkNumber(r.src, t); err != nil {
				return err
			}
			i++
		case t.isName() && at(i+1).isOp("(") && !r.inspected[i]:
			r.inspected[i] = true
			if err := r.call(i); err != nil {
				return err
			}
			// The edits call scheduled at i apply now.
		case t.is("FILTER") && at(i+1).isOp("(") && at(i+2).is("WHERE"):
			return r.src.errorf(t.start, "FILTER (WHERE ...) must follow an aggregate function call, as in COUNT(*) FILTER (WHERE amount > 0)")
		case t.is("FULL") && (at(i+1).is("JOIN") || (at(i+1).is("OUTER") && at(i+2).is("JOIN"))):
			if err := r.fullJoin(i); err != nil {
				return err
			}
		case t.is("IS") && (at(i+1).is("DISTINCT") || (at(i+1).is("NOT") && at(i+2).is("DISTINCT"))):
			// l IS [NOT] DISTINCT FROM r: TiDB knows l <=> r (IS NOT
			// DISTINCT FROM); the parser negates the distinct form.
			k := i + 1
			neg := at(k).is("NOT")
			if neg {
				k++
			}
			if !at(k + 1).is("FROM") {
				return r.src.errorf(toks[k].start, "syntax error at or near 'DISTINCT': expected IS [NOT] DISTINCT FROM")
			}
			r.replace(i, k+2, "<=>", t.start)
			if !neg {
				r.marks[k+2] = func(off int) { r.st.distinct[off] = true }
			}
		case t.is("FOR") && at(i+1).is("SYSTEM_TIME"):
			if err := r.systemTime(i); err != nil {
				return err
			}
			continue // the edit at i applies now
		case t.is("CROSS") && at(i+1).is("JOIN"):
			if on := joinCondition(toks, i+2); on >= 0 && toks[on].is("ON") {
				return r.src.errorf(toks[on].start, "CROSS JOIN takes no ON condition: write JOIN ... ON for a join with a condition")
			}
			i++
		default:
			i++
		}
	}
	return nil
}

// joinStops are the words that end a join's right side and condition.
var joinStops = map[string]bool{
	"JOIN": true, "INNER": true, "LEFT": true, "RIGHT": true, "FULL": true, "CROSS": true, "NATURAL": true,
	"STRAIGHT_JOIN": true, "WHERE": true, "GROUP": true, "HAVING": true, "ORDER": true, "LIMIT": true,
	"UNION": true, "EXCEPT": true, "INTERSECT": true, "WINDOW": true,
}

// joinCondition returns the index of the ON or USING that belongs to the
// join whose right side starts at toks[from], or -1 when the right side
// ends (at a join or clause keyword, a ',' or the enclosing ')') first.
func joinCondition(toks []token, from int) int {
	depth := 0
	for k := from; k < len(toks); k++ {
		t := toks[k]
		switch {
		case t.isOp("("):
			depth++
		case t.isOp(")"):
			depth--
			if depth < 0 {
				return -1
			}
		case depth > 0:
		case t.is("ON") || t.is("USING"):
			return k
		case t.isOp(",") || (t.kind == tokIdent && joinStops[strings.ToUpper(t.val)]):
			return -1
		}
	}
	return -1
}

// fullJoin rewrites FULL [OUTER] JOIN at toks[i], which TiDB does not
// parse, into LEFT [OUTER] JOIN ... ON __eddy_full(cond); the parser
// unwraps the condition after parsing and remembers the join
// (Query.IsFullJoin).
func (r *queryRewriter) fullJoin(i int) error {
	toks := r.toks
	j := i + 1
	if toks[j].is("OUTER") {
		j++
	}
	on := joinCondition(toks, j+1)
	if on < 0 {
		return r.src.errorf(toks[i].start, "FULL JOIN needs an ON condition")
	}
	if toks[on].is("USING") {
		return r.src.errorf(toks[on].start, "JOIN ... USING is not supported yet: write ON left.col = right.col")
	}
	end := conditionEnd(toks, on+1)
	if end == on+1 {
		return r.src.errorf(toks[on].start, "syntax error at or near 'ON': expected the condition of the FULL JOIN")
	}
	r.replace(i, i+1, "LEFT", toks[i].start)
	r.insert(on+1, reservedPrefix+"full(", toks[on+1].start)
	r.insert(end, ") ", toks[end-1].end)
	return nil
}

// conditionEnd returns the index of the token right after the join
// condition that starts at toks[from]: the condition runs to a join or
// clause keyword, a ',' or the enclosing ')'.
func conditionEnd(toks []token, from int) int {
	depth := 0
	for k := from; k < len(toks); k++ {
		t := toks[k]
		switch {
		case t.isOp("("):
			depth++
		case t.isOp(")"):
			depth--
			if depth < 0 {
				return k
			}
		case depth > 0:
		case t.isOp(","):
			return k
		case t.kind == tokIdent && joinStops[strings.ToUpper(t.val)] && !(k+1 < len(toks) && toks[k+1].isOp("(")):
			return k
		}
	}
	return len(toks)
}

// notCalls are keywords that a '(' may follow without making a call.
var notCalls = map[string]bool{
	"OVER": true, "IN": true, "AS": true, "EXISTS": true, "VALUES": true, "USING": true, "ON": true, "SELECT": true,
	"FROM": true, "WHERE": true, "AND": true, "OR": true, "NOT": true, "THEN": true, "ELSE": true, "WHEN": true,
	"JOIN": true, "LATERAL": true, "BY": true, "HAVING": true, "TABLE": true,
}

// callUnits are the units of FLOOR(x TO unit) and CEIL(x TO unit).
var callUnits = map[string]bool{
	"SECOND": true, "MINUTE": true, "HOUR": true, "DAY": true, "WEEK": true, "MONTH": true, "QUARTER": true, "YEAR": true,
}

// call looks at the function call whose name is toks[i] and schedules the
// rewrites of the Flink forms TiDB does not parse:
//
//   - agg(args) FILTER (WHERE cond) becomes __eddy_filter(agg(args), cond)
//     (unwrapped after parsing: Query.AggFilter);
//   - FIRST_VALUE(x) and LAST_VALUE(x) without OVER become
//     __eddy_first_value(x) and __eddy_last_value(x) (aggregate calls after
//     parsing);
//   - FLOOR(x TO unit) and CEIL(x TO unit) become __eddy_floor_to(x, 'UNIT')
//     and __eddy_ceil_to(x, 'UNIT');
//   - REGEXP(s, p), a reserved word in TiDB, becomes __eddy_regexp(s, p)
//     (renamed back to REGEXP after parsing).
func (r *queryRewriter) call(i int) error {
	toks := r.toks
	at := func(k int) token {
		if k < len(toks) {
			return toks[k]
		}
		return eofTok
	}
	name := toks[i]
	cl := closeParen(toks, i+1)
	if cl < 0 {
		return nil // TiDB reports the unclosed '('
	}
	upper := strings.ToUpper(name.val)
	if name.kind == tokQuoted {
		upper = "" // a quoted name is never one of the keywords below
	}
	var wrap, rename string
	if at(cl+1).is("FILTER") && !notCalls[upper] && at(cl+2).isOp("(") && at(cl+3).is("WHERE") {
		fcl := closeParen(toks, cl+2)
		if fcl < 0 {
			return r.src.errorf(toks[cl+2].start, "'(' of FILTER is never closed")
		}
		if fcl == cl+4 {
			return r.src.errorf(toks[fcl].start, "syntax error at or near ')': expected the FILTER condition after WHERE")
		}
		if at(fcl + 1).is("OVER") {
			return r.src.errorf(toks[fcl+1].start, "FILTER (WHERE ...) is not supported with OVER")
		}
		wrap = reservedPrefix + "filter("
		r.replace(cl+1, cl+4, ", ", toks[cl+1].start)
	}
	switch upper {
	case "FIRST_VALUE", "LAST_VALUE":
		if !at(cl + 1).is("OVER") {
			rename = reservedPrefix + strings.ToLower(upper)
		}
	case "REGEXP":
		rename = reservedPrefix + "regexp"
	case "FLOOR", "CEIL", "CEILING":
		to, depth := -1, 0
		for k := i + 2; k < cl; k++ {
			switch {
			case toks[k].isOp("("):
				depth++
			case toks[k].isOp(")"):
				depth--
			case depth == 0 && toks[k].is("TO"):
				to = k
			}
		}
		if to < 0 {
			break
		}
		fn := "FLOOR"
		if upper != "FLOOR" {
			fn = "CEIL"
		}
		if to == i+2 {
			return r.src.errorf(toks[to].start, "missing the value before TO in %s(x TO unit)", fn)
		}
		if to+1 == cl || !toks[to+1].isName() {
			return r.src.errorf(toks[to].start, "%s(x TO unit) needs a unit after TO: SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER or YEAR", fn)
		}
		u := toks[to+1]
		unit := strings.ToUpper(u.val)
		if !callUnits[unit] || u.kind != tokIdent {
			return r.src.errorf(u.start, "unknown time unit %s in %s(x TO unit): expected SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER or YEAR", describe(r.src, u), fn)
		}
		if to+2 != cl {
			return r.src.errorf(toks[to+2].start, "syntax error at or near %s: expected ')' after the unit of %s", describe(r.src, toks[to+2]), fn)
		}
		rename = reservedPrefix + strings.ToLower(fn) + "_to"
		r.replace(to, to+2, ", '"+unit+"'", u.start)
	}
	if wrap == "" && rename == "" {
		return nil
	}
	if rename == "" {
		rename = r.p.clean[name.start:name.end]
	}
	r.replace(i, i+1, wrap+rename, name.start)
	return nil
}

// isTableFunc reports whether TABLE( at toks[i] calls a table function
// (TABLE(f(args))) rather than a window function: the called name is not
// TUMBLE, HOP, CUMULATE or SESSION, and no argument is TABLE t or
// DESCRIPTOR(...), which only window functions take.
func (r *queryRewriter) isTableFunc(i int) bool {
	toks := r.toks
	if i+3 >= len(toks) || !toks[i+2].isName() || !toks[i+3].isOp("(") {
		return false
	}
	if _, ok := windowSigs[strings.ToUpper(toks[i+2].val)]; ok && toks[i+2].kind == tokIdent {
		return false
	}
	cl := closeParen(toks, i+3)
	if cl < 0 {
		return false
	}
	depth := 0
	for k := i + 4; k < cl; k++ {
		switch {
		case toks[k].isOp("("):
			depth++
		case toks[k].isOp(")"):
			depth--
		case depth == 0 && toks[k].is("TABLE") && k+1 < cl && toks[k+1].isName():
			return false
		case depth == 0 && toks[k].is("DESCRIPTOR") && k+1 < cl && toks[k+1].isOp("("):
			return false
		}
	}
	return true
}

// aliasStops are words that may follow a FROM item but are not its alias.
var aliasStops = map[string]bool{
	"ON": true, "USING": true, "FULL": true, "OUTER": true, "FILTER": true,
}

// tableFunc schedules the rewrite of [LATERAL] TABLE(f(args)) at toks[i]
// into LATERAL (SELECT __eddy_tfn_N(args)) [AS __eddy_tfa_N], which TiDB
// parses as a lateral derived table, and records the call
// (Query.TableFunc).
func (r *queryRewriter) tableFunc(i int) error {
	toks, src := r.toks, r.src
	outer := closeParen(toks, i+1)
	if outer < 0 {
		return src.errorf(toks[i+1].start, "'(' of TABLE(...) is never closed")
	}
	name := toks[i+2]
	inner := closeParen(toks, i+3)
	if inner+1 != outer {
		return src.errorf(toks[inner+1].start, "syntax error at or near %s: expected ')' to close TABLE(", describe(src, toks[inner+1]))
	}
	text := "(SELECT "
	if i == 0 || !toks[i-1].is("LATERAL") {
		text = "LATERAL (SELECT "
	}
	r.tfns++
	// The call gets a placeholder name: a function may be called anything,
	// including words TiDB does not take as function names (SPLIT).
	r.replace(i, i+3, text+fmt.Sprintf("%stfn_%d", reservedPrefix, r.tfns), toks[i].start)
	tf := TableFunc{At: src.pos(toks[i].start), Name: name.val, NamePos: src.pos(name.start)}
	next := eofTok
	if outer+1 < len(toks) {
		next = toks[outer+1]
	}
	switch {
	case next.is("AS") || next.kind == tokQuoted:
		tf.Alias = true
	case next.kind == tokIdent:
		w := strings.ToUpper(next.val)
		tf.Alias = !aliasStops[w] && !joinStops[w] && !reservedWords[w]
	}
	if !tf.Alias {
		r.insert(outer+1, fmt.Sprintf(" AS %stfa_%d ", reservedPrefix, r.tfns), toks[outer].start)
	}
	idx := len(r.st.tfList)
	r.st.tfList = append(r.st.tfList, tf)
	r.marks[i] = func(off int) { r.st.tfuncs[off+len(text)] = idx }
	return nil
}

// maxNumberDigits bounds the digits of a numeric literal: TiDB's decimal
// literals hold at most 81 digits (and DECIMAL at most 65 in MySQL, 38 in
// Eddy), and its test driver panics beyond that.
const maxNumberDigits = 65

// checkNumber rejects numeric literals TiDB cannot represent.
func checkNumber(src *source, t token) error {
	mant, _, hasExp := strings.Cut(strings.ToLower(t.val), "e")
	digits := len(mant) - strings.Count(mant, ".")
	if digits > maxNumberDigits {
		return src.errorf(t.start, "numeric literal has %d digits, more than %d", digits, maxNumberDigits)
	}
	if hasExp {
		if f, err := strconv.ParseFloat(t.val, 64); err != nil && (math.IsInf(f, 0) || f == 0) {
			return src.errorf(t.start, "numeric literal %s is out of range for DOUBLE", t.val)
		}
	}
	return nil
}

// closeParen returns the index of the ')' that closes the '(' at toks[open],
// or -1.
func closeParen(toks []token, open int) int {
	depth := 0
	for k := open; k < len(toks); k++ {
		switch {
		case toks[k].isOp("("):
			depth++
		case toks[k].isOp(")"):
			depth--
			if depth == 0 {
				return k
			}
		}
	}
	return -1
}

// cast marks the CAST or TRY_CAST at toks[i]: it records the Flink target
// type, and schedules the rewrite of the type to one TiDB accepts.
func (r *queryRewriter) cast(i int) error {
	toks := r.toks
	cl := closeParen(toks, i+1)
	if cl < 0 {
		return r.src.errorf(toks[i+1].start, "'(' of %s is never closed", strings.ToUpper(toks[i].val))
	}
	as := -1
	depth := 0
	for k := i + 2; k < cl; k++ {
		switch {
		case toks[k].isOp("("):
			depth++
		case toks[k].isOp(")"):
			depth--
		case depth == 0 && toks[k].is("AS"):
			as = k
		}
		if as >= 0 {
			break
		}
	}
	name := strings.ToUpper(toks[i].val)
	if as < 0 {
		return r.src.errorf(toks[i].start, "%s needs the form %s(expr AS type)", name, name)
	}
	if as == i+2 {
		return r.src.errorf(toks[as].start, "missing the expression to %s before AS", name)
	}
	c := &cursor{src: r.src, toks: toks[as+1 : cl], end: toks[cl].start, endTok: &toks[cl]}
	typPos := c.peek()
	typ, err := parseType(c)
	if err != nil {
		return err
	}
	if c.peek().is("NOT") && c.peekAt(1).is("NULL") {
		c.next()
		c.next()
		typ.NotNull = true
	}
	if !c.atEnd() {
		return c.unexpected("')' after the type of " + name)
	}
	r.flush(toks[i].start)
	off := r.w.buf.Len()
	if name == "TRY_CAST" {
		r.w.write("CAST", toks[i].start)
		r.last = toks[i].end
	}
	r.st.casts[off] = len(r.q.Casts)
	r.q.Casts = append(r.q.Casts, CastTarget{Type: typ, At: r.src.pos(c.offOf(typPos)), Try: name == "TRY_CAST"})
	r.castAS[as] = pendingCast{close: cl, target: tidbCastTarget(typ)}
	return nil
}

// tidbCastTarget is the CAST target TiDB sees for a Flink type. Only
// Query.CastType is authoritative; this keeps TiDB's own view close.
func tidbCastTarget(t types.Type) string {
	switch t.Kind {
	case types.Int, types.BigInt, types.Boolean:
		return "SIGNED"
	case types.Double:
		return "DOUBLE"
	case types.Decimal:
		return fmt.Sprintf("DECIMAL(%d, %d)", t.Precision, t.Scale)
	case types.Timestamp:
		return "DATETIME(3)"
	}
	return "CHAR"
}

// Interval units.
var intervalUnits = map[string]int64{
	"SECOND": 1000, "MINUTE": 60_000, "HOUR": 3_600_000, "DAY": 86_400_000,
}

var unsupportedUnits = map[string]bool{
	"YEAR": true, "YEARS": true, "MONTH": true, "MONTHS": true, "QUARTER": true, "QUARTERS": true,
	"WEEK": true, "WEEKS": true, "MILLISECOND": true, "MILLISECONDS": true, "MICROSECOND": true,
	"MICROSECONDS": true, "NANOSECOND": true, "NANOSECONDS": true, "YEAR_MONTH": true,
	"DAY_HOUR": true, "DAY_MINUTE": true, "DAY_SECOND": true, "HOUR_MINUTE": true, "HOUR_SECOND": true,
	"MINUTE_SECOND": true,
}

var intervalNumRE = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)

// interval parses INTERVAL 'n' UNIT at toks[i]. It returns the index of the
// unit token and, when the unit is a Flink plural (SECONDS), the singular
// that TiDB knows.
func interval(src *source, toks []token, i int) (iv Interval, unit int, singular string, err error) {
	v := toks[i+1]
	unit = i + 2
	if unit >= len(toks) || toks[unit].kind != tokIdent {
		off := v.end
		if unit < len(toks) {
			off = toks[unit].start
		}
		return iv, 0, "", src.errorf(off, "INTERVAL %s needs a unit: SECOND, MINUTE, HOUR or DAY", src.text[v.start:v.end])
	}
	if f := strings.Fields(v.val); v.kind == tokString && len(f) == 2 && intervalNumRE.MatchString(f[0]) {
		return iv, 0, "", src.errorf(v.start, "INTERVAL %s: write the unit after the quotes, as in INTERVAL '%s' %s", src.text[v.start:v.end], f[0], strings.ToUpper(f[1]))
	}
	u := toks[unit]
	name := strings.ToUpper(u.val)
	base := name
	if strings.HasSuffix(name, "S") && intervalUnits[name[:len(name)-1]] != 0 {
		base, singular = name[:len(name)-1], name[:len(name)-1]
	}
	perUnit := intervalUnits[base]
	if perUnit == 0 {
		if unsupportedUnits[name] {
			return iv, 0, "", src.errorf(u.start, "INTERVAL unit %s is not supported: use SECOND, MINUTE, HOUR or DAY", name)
		}
		return iv, 0, "", src.errorf(u.start, "syntax error at or near %s: expected an INTERVAL unit (SECOND, MINUTE, HOUR or DAY)", describe(src, u))
	}
	if unit+1 < len(toks) && toks[unit+1].is("TO") {
		return iv, 0, "", src.errorf(toks[unit+1].start, "compound INTERVAL units (... TO ...) are not supported: write INTERVAL 'n' SECOND, MINUTE, HOUR or DAY")
	}
	if unit+1 < len(toks) && toks[unit+1].isOp("(") {
		return iv, 0, "", src.errorf(toks[unit+1].start, "INTERVAL unit precision is not supported: write INTERVAL 'n' %s", base)
	}
	text := strings.TrimSpace(v.val)
	if !intervalNumRE.MatchString(text) {
		return iv, 0, "", src.errorf(v.start, "INTERVAL value %s is not a number", src.text[v.start:v.end])
	}
	if strings.Contains(text, ".") && base != "SECOND" {
		return iv, 0, "", src.errorf(v.start, "INTERVAL %s %s: only SECOND takes a fraction", src.text[v.start:v.end], name)
	}
	rat, ok := new(big.Rat).SetString(text)
	if !ok {
		return iv, 0, "", src.errorf(v.start, "INTERVAL value %s is not a number", src.text[v.start:v.end])
	}
	rat.Mul(rat, new(big.Rat).SetInt64(perUnit))
	if !rat.IsInt() {
		return iv, 0, "", src.errorf(v.start, "INTERVAL %s %s is not a whole number of milliseconds", src.text[v.start:v.end], name)
	}
	if !rat.Num().IsInt64() {
		return iv, 0, "", src.errorf(v.start, "INTERVAL %s %s is too large", src.text[v.start:v.end], name)
	}
	return Interval{Ms: rat.Num().Int64(), At: src.pos(toks[i].start)}, unit, singular, nil
}

// nulls removes NULLS FIRST or NULLS LAST at toks[i] (TiDB does not parse
// them) and records it in Query.NullsFirst under the rewritten offset where
// the ORDER BY key's expression starts.
func (r *queryRewriter) nulls(i int) error {
	toks := r.toks
	bad := func() error {
		return r.src.errorf(toks[i].start, "NULLS %s is only allowed after an ORDER BY key", strings.ToUpper(toks[i+1].val))
	}
	start, depth := -1, 0
	k := i - 1
	for ; k >= 0; k-- {
		t := toks[k]
		switch {
		case t.isOp(")"):
			depth++
			continue
		case t.isOp("("):
			if depth == 0 {
				return bad()
			}
			depth--
			continue
		case depth > 0:
			continue
		case t.isOp(",") && start < 0:
			start = k + 1
			continue
		case t.is("BY"):
			if start < 0 {
				start = k + 1
			}
			if k == 0 || !toks[k-1].is("ORDER") {
				return bad()
			}
		case t.is("SELECT") || t.is("FROM") || t.is("WHERE") || t.is("HAVING") || t.is("ON") || t.is("WINDOW"):
			return bad()
		default:
			continue
		}
		break
	}
	if k < 0 {
		return bad()
	}
	if start == i {
		return r.src.errorf(toks[i].start, "syntax error at or near 'NULLS': expected an ORDER BY key")
	}
	r.flush(toks[i].start)
	off, ok := r.w.rewOffset(toks[start].start)
	if !ok {
		return bad()
	}
	if r.q.NullsFirst == nil {
		r.q.NullsFirst = map[int]bool{}
	}
	r.q.NullsFirst[off] = toks[i+1].is("FIRST")
	r.last = toks[i+1].end
	return nil
}
