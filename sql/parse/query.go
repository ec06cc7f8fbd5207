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
	paren, ok := f.Expr.(*ast.ParenthesesExpr)
	if !ok || f.AsName.L != "" {
		return nil, nil, q.Errorf(q.Start(), "expected an expression")
	}
	q.Node = sel
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
}

type pendingCast struct {
	close  int    // index of the CAST's ')'
	target string // the type TiDB sees
}

// rewrite turns toks into the text TiDB parses, wrapped in prefix and
// suffix, and returns the Query that maps it back.
func (p *scriptParser) rewrite(toks []token, end int, prefix, suffix string) (*Query, *stmtText, error) {
	st := &stmtText{src: p.src, toks: toks, start: toks[0].start, casts: map[int]int{}, intervals: map[int]Interval{}}
	q := &Query{TVFs: map[string]*WindowTVF{}, stmt: st}
	r := &queryRewriter{p: p, src: p.src, toks: toks, w: rewriter{clean: p.clean}, q: q, st: st,
		last: toks[0].start, castAS: map[int]pendingCast{}}
	r.w.write(prefix, toks[0].start)
	if err := r.walk(); err != nil {
		return nil, nil, err
	}
	r.w.copy(r.last, toks[len(toks)-1].end)
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
		switch {
		case t.is("TABLE") && at(i+1).isOp("("):
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
		default:
			i++
		}
	}
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
