package parse

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
)

// parser state for one script.
type scriptParser struct {
	src   *source
	clean string         // the script with comments blanked
	hints []hintComment  // the /*+ ... */ comments, in order
	tidb  *parser.Parser // created on first use
}

// Parse splits a script into statements and parses each. The first error is
// returned as an *Error positioned in text; Parse never panics.
func Parse(file, text string) (script *Script, err error) {
	defer func() {
		if r := recover(); r != nil {
			script = nil
			err = &Error{File: file, Pos: Pos{Line: 1, Col: 1}, Msg: fmt.Sprintf("internal error in the SQL parser: %v", r)}
		}
	}()
	src := newSource(file, text)
	toks, clean, hints, lerr := lexHints(text)
	p := &scriptParser{src: src, clean: clean, hints: hints}
	script = &Script{File: file, Text: text}
	for _, st := range splitStatements(toks) {
		if lerr != nil && !st.closed {
			break // the statement the lexical error cut short
		}
		s, err := p.statement(st)
		if err != nil {
			return nil, err
		}
		if s != nil {
			script.Stmts = append(script.Stmts, s)
		}
	}
	if lerr != nil {
		return nil, src.errorf(lerr.off, "%s", lerr.msg)
	}
	return script, nil
}

// rawStmt is the tokens of one statement, without its ';'.
type rawStmt struct {
	toks []token
	// end is the offset of the ';' that ends the statement, or the end of
	// its last token if none does.
	end    int
	closed bool // ended by ';'
}

// splitStatements splits tokens at ';' outside parentheses. Strings and
// comments are single tokens or none, so their ';' never split. Empty
// statements are dropped.
func splitStatements(toks []token) []rawStmt {
	var out []rawStmt
	depth, from := 0, 0
	for i, t := range toks {
		switch {
		case t.isOp("("):
			depth++
		case t.isOp(")"):
			depth = max(0, depth-1)
		case t.isOp(";") && depth == 0:
			if i > from {
				out = append(out, rawStmt{toks: toks[from:i], end: t.start, closed: true})
			}
			from = i + 1
		}
	}
	if from < len(toks) {
		out = append(out, rawStmt{toks: toks[from:], end: toks[len(toks)-1].end})
	}
	return out
}

// statement parses one statement.
func (p *scriptParser) statement(st rawStmt) (Stmt, error) {
	c := &cursor{src: p.src, toks: st.toks, end: st.end}
	first := c.peek()
	at := p.src.pos(first.start)
	text := p.src.text[first.start:st.toks[len(st.toks)-1].end]
	switch {
	case first.is("CREATE"):
		second := c.peekAt(1)
		third := c.peekAt(2)
		if second.is("TABLE") || (second.is("TEMPORARY") && third.is("TABLE")) {
			return p.createTable(c, at, text)
		}
		if second.is("VIEW") || (second.is("TEMPORARY") && third.is("VIEW")) {
			return p.createView(c, at, text)
		}
		if second.is("OR") && third.is("REPLACE") {
			if c.peekAt(3).is("VIEW") || c.peekAt(3).is("TEMPORARY") {
				return nil, c.errAt(second, "CREATE OR REPLACE VIEW is not supported: each view is created once; use another name")
			}
			second = c.peekAt(3)
		}
		if second.is("TEMPORARY") || second.is("SYSTEM") {
			second = c.peekAt(2)
			if second.is("TEMPORARY") {
				second = c.peekAt(3)
			}
			if second.is("SYSTEM") {
				second = c.peekAt(3)
			}
			if second.is("VIEW") {
				return nil, c.errAt(first, "CREATE TEMPORARY SYSTEM VIEW is not supported: use CREATE [TEMPORARY] VIEW")
			}
		}
		if second.kind == tokIdent {
			return nil, c.errAt(first, "CREATE %s is not supported yet", strings.ToUpper(second.val))
		}
		return nil, c.errAt(first, "CREATE must be followed by TABLE or VIEW")
	case first.is("INSERT"):
		return p.insert(c, at, text)
	case first.is("SELECT") || first.isOp("("):
		q, err := p.query(c.toks, c.end)
		if err != nil {
			return nil, err
		}
		return &Select{At: at, Text: text, Query: q}, nil
	case first.is("WITH"):
		if k := topLevel(c.toks, "INSERT"); k >= 0 {
			return nil, c.errAt(c.toks[k], "INSERT must come first: write INSERT INTO t WITH ... SELECT ...")
		}
		q, err := p.query(c.toks, c.end)
		if err != nil {
			return nil, err
		}
		return &Select{At: at, Text: text, Query: q}, nil
	case first.is("EXPLAIN"):
		return p.explain(c, at, text, st)
	case first.is("VALUES"):
		return nil, c.errAt(first, "VALUES is not supported yet")
	case first.is("SET"):
		return p.set(c, at, text)
	case first.is("EXECUTE") || first.is("BEGIN") || first.is("END"):
		if c.peekAt(1).is("STATEMENT") {
			return nil, c.errAt(first, "STATEMENT SET is not supported yet: write the INSERT statements one after another, they run as one job")
		}
		if first.is("END") {
			return nil, c.errAt(first, "unexpected END")
		}
		return nil, c.errAt(first, "%s is not supported yet", strings.ToUpper(first.val))
	case first.kind == tokIdent && unsupportedStmts[strings.ToUpper(first.val)]:
		kind := strings.ToUpper(first.val)
		if second := c.peekAt(1); second.kind == tokIdent {
			kind += " " + strings.ToUpper(second.val)
		}
		return nil, c.errAt(first, "%s is not supported yet", kind)
	}
	return nil, c.errAt(first, "unknown statement starting with %s: expected CREATE TABLE, CREATE VIEW, INSERT INTO, SELECT, SET or EXPLAIN", describe(p.src, first))
}

// topLevel returns the index of the first bare word w outside parentheses,
// or -1.
func topLevel(toks []token, w string) int {
	depth := 0
	for k, t := range toks {
		switch {
		case t.isOp("("):
			depth++
		case t.isOp(")"):
			depth--
		case depth == 0 && t.is(w):
			return k
		}
	}
	return -1
}

// explainDetails are Flink's EXPLAIN details.
var explainDetails = map[string]bool{
	"ESTIMATED_COST": true, "CHANGELOG_MODE": true, "PLAN_ADVICE": true, "JSON_EXECUTION_PLAN": true,
}

// explain parses EXPLAIN [PLAN FOR | detail, ...] statement.
func (p *scriptParser) explain(c *cursor, at Pos, text string, st rawStmt) (*Explain, error) {
	kw := c.next() // EXPLAIN
	ex := &Explain{At: at, Text: text}
	switch {
	case c.peek().is("PLAN") && c.peekAt(1).is("FOR"):
		c.next()
		c.next()
	case c.peek().kind == tokIdent && explainDetails[strings.ToUpper(c.peek().val)]:
		for {
			d := c.next()
			ex.Details = append(ex.Details, Ident{Name: strings.ToUpper(d.val), At: c.src.pos(d.start)})
			if !c.peek().isOp(",") {
				break
			}
			c.next()
			d2 := c.peek()
			if d2.kind != tokIdent || !explainDetails[strings.ToUpper(d2.val)] {
				return nil, c.unexpected("an EXPLAIN detail: ESTIMATED_COST, CHANGELOG_MODE, PLAN_ADVICE or JSON_EXECUTION_PLAN")
			}
		}
	case c.peek().kind == tokIdent && c.peekAt(1).isOp(","):
		return nil, c.errAt(c.peek(), "unknown EXPLAIN detail %s: expected ESTIMATED_COST, CHANGELOG_MODE, PLAN_ADVICE or JSON_EXECUTION_PLAN", describe(c.src, c.peek()))
	}
	if c.atEnd() {
		return nil, c.errAt(kw, "EXPLAIN needs a statement: a query or an INSERT INTO")
	}
	t := c.peek()
	switch {
	case t.is("SELECT") || t.isOp("(") || t.is("WITH") || t.is("INSERT"):
	case t.is("CREATE") || t.is("SET") || t.is("EXPLAIN"):
		kind := strings.ToUpper(t.val)
		if n := c.peekAt(1); t.is("CREATE") && n.kind == tokIdent {
			kind += " " + strings.ToUpper(n.val)
			if n.is("TEMPORARY") && c.peekAt(2).kind == tokIdent {
				kind += " " + strings.ToUpper(c.peekAt(2).val)
			}
		}
		return nil, c.errAt(t, "EXPLAIN %s is not supported: EXPLAIN takes a query or an INSERT INTO statement", kind)
	case t.is("EXECUTE") || t.is("STATEMENT") || t.is("BEGIN"):
		return nil, c.errAt(t, "EXPLAIN of a STATEMENT SET is not supported yet: explain each INSERT INTO")
	default:
		if t.kind == tokIdent && explainDetails[strings.ToUpper(t.val)] {
			return nil, c.unexpected("a query or an INSERT INTO statement")
		}
		return nil, c.unexpected("a query or an INSERT INTO statement to explain")
	}
	inner, err := p.statement(rawStmt{toks: c.toks[c.i:], end: st.end, closed: st.closed})
	if err != nil {
		return nil, err
	}
	ex.Stmt = inner
	return ex, nil
}

// unsupportedStmts are statement keywords of Flink SQL (and SQL at large)
// that Eddy does not run yet.
var unsupportedStmts = map[string]bool{
	"DROP": true, "ALTER": true, "SHOW": true, "DESCRIBE": true, "DESC": true,
	"USE": true, "RESET": true, "LOAD": true, "UNLOAD": true, "ADD": true, "REMOVE": true,
	"DELETE": true, "UPDATE": true, "TRUNCATE": true, "ANALYZE": true, "CALL": true, "COMPILE": true,
	"REPLACE": true, "MERGE": true, "GRANT": true, "REVOKE": true, "COMMIT": true, "ROLLBACK": true,
}

// cursor walks the tokens of one statement.
type cursor struct {
	src  *source
	toks []token
	i    int
	end  int // where "end of statement" errors point
	// endTok, when set, is the token right after the cursor's tokens (the
	// ')' or ',' that ends a sub-list): errors at the end name it.
	endTok *token
}

// eofTok stands for the end of the statement.
var eofTok = token{kind: tokOp, start: -1}

func (c *cursor) peek() token { return c.peekAt(0) }

func (c *cursor) peekAt(k int) token {
	if c.i+k < len(c.toks) {
		return c.toks[c.i+k]
	}
	return eofTok
}

func (c *cursor) atEnd() bool { return c.i >= len(c.toks) }

func (c *cursor) next() token {
	t := c.peek()
	if c.i < len(c.toks) {
		c.i++
	}
	return t
}

// offOf returns the script offset of t, or of the statement end for eofTok.
func (c *cursor) offOf(t token) int {
	if t.start < 0 {
		return c.end
	}
	return t.start
}

// errAt returns an *Error at token t.
func (c *cursor) errAt(t token, format string, args ...any) *Error {
	return c.src.errorf(c.offOf(t), format, args...)
}

// unexpected returns a syntax error at the current token, saying what was
// expected instead.
func (c *cursor) unexpected(expected string) *Error {
	t := c.peek()
	if t.start < 0 && c.endTok != nil {
		t = *c.endTok
	}
	if t.start < 0 {
		return c.errAt(t, "unexpected end of statement: expected %s", expected)
	}
	return c.errAt(t, "syntax error at or near %s: expected %s", describe(c.src, t), expected)
}

// word consumes the bare word w or fails.
func (c *cursor) word(w string) error {
	if !c.peek().is(w) {
		return c.unexpected(w)
	}
	c.next()
	return nil
}

// op consumes the operator op or fails.
func (c *cursor) op(op string) error {
	if !c.peek().isOp(op) {
		return c.unexpected("'" + op + "'")
	}
	c.next()
	return nil
}

// name consumes an identifier (bare or quoted); what says what it names.
func (c *cursor) name(what string) (Ident, error) {
	t := c.peek()
	if !t.isName() {
		return Ident{}, c.unexpected(what)
	}
	c.next()
	return Ident{Name: t.val, At: c.src.pos(t.start)}, nil
}

// describe renders a token for an error message: 'FROMM', ')' or 'a string'.
func describe(src *source, t token) string {
	if t.start < 0 {
		return "end of statement"
	}
	raw := src.text[t.start:t.end]
	if len(raw) > 40 {
		raw = raw[:37] + "..."
		if t.kind == tokString {
			raw += "'"
		}
	}
	if t.kind == tokString {
		return raw
	}
	return "'" + raw + "'"
}
