package parse

import (
	"strconv"
	"strings"

	"github.com/eddy-streaming/eddy/engine/types"
)

// createTable parses CREATE [TEMPORARY] TABLE [IF NOT EXISTS] name
// (elements) [COMMENT '...'] [PARTITIONED BY (col, ...)] [WITH (options)].
func (p *scriptParser) createTable(c *cursor, at Pos, text string) (*CreateTable, error) {
	ct := &CreateTable{At: at, Text: text}
	c.next() // CREATE
	if c.peek().is("TEMPORARY") {
		c.next()
	}
	c.next() // TABLE
	if c.peek().is("IF") {
		c.next()
		if err := c.word("NOT"); err != nil {
			return nil, err
		}
		if err := c.word("EXISTS"); err != nil {
			return nil, err
		}
		ct.IfNotExists = true
	}
	name, err := c.name("a table name")
	if err != nil {
		return nil, err
	}
	if c.peek().isOp(".") {
		return nil, c.errAt(c.peek(), "qualified table names (catalog.database.table) are not supported yet")
	}
	ct.Name, ct.NamePos = name.Name, name.At
	if c.peek().is("LIKE") || c.peek().is("AS") {
		return nil, c.errAt(c.peek(), "CREATE TABLE ... %s is not supported yet", strings.ToUpper(c.peek().val))
	}
	if err := c.op("("); err != nil {
		return nil, err
	}
	for {
		if err := p.tableElement(c, ct); err != nil {
			return nil, err
		}
		if c.peek().isOp(",") {
			c.next()
			continue
		}
		if err := c.op(")"); err != nil {
			return nil, c.unexpected("',' or ')' after a column definition")
		}
		break
	}
	if c.peek().is("COMMENT") {
		c.next()
		t := c.peek()
		if t.kind != tokString {
			return nil, c.unexpected("a 'string' after COMMENT")
		}
		c.next()
		ct.Comment = t.val
	}
	if c.peek().is("PARTITIONED") {
		if err := partitionedBy(c, ct); err != nil {
			return nil, err
		}
		if c.peek().is("PARTITIONED") {
			return nil, c.errAt(c.peek(), "a table can have only one PARTITIONED BY")
		}
	}
	if c.peek().is("PARTITIONED") || c.peek().is("DISTRIBUTED") || c.peek().is("LIKE") {
		return nil, c.errAt(c.peek(), "CREATE TABLE ... %s is not supported yet", strings.ToUpper(c.peek().val))
	}
	if c.peek().is("WITH") {
		c.next()
		opts, err := p.options(c)
		if err != nil {
			return nil, err
		}
		ct.Options = opts
	}
	if !c.atEnd() {
		if c.peek().is("LIKE") || c.peek().is("AS") {
			return nil, c.errAt(c.peek(), "CREATE TABLE ... %s is not supported yet", strings.ToUpper(c.peek().val))
		}
		return nil, c.unexpected("WITH ('key' = 'value', ...) or the end of the statement")
	}
	return ct, nil
}

// partitionedBy parses PARTITIONED BY (col, ...) into ct.PartitionKeys.
// The catalog checks the columns.
func partitionedBy(c *cursor, ct *CreateTable) error {
	c.next() // PARTITIONED
	if err := c.word("BY"); err != nil {
		return err
	}
	cols, err := columnList(c)
	if err != nil {
		return err
	}
	ct.PartitionKeys = cols
	return nil
}

// columnList parses (col, ...).
func columnList(c *cursor) ([]Ident, error) {
	if err := c.op("("); err != nil {
		return nil, err
	}
	var cols []Ident
	for {
		id, err := c.name("a column name")
		if err != nil {
			return nil, err
		}
		cols = append(cols, id)
		if !c.peek().isOp(",") {
			break
		}
		c.next()
	}
	if err := c.op(")"); err != nil {
		return nil, err
	}
	return cols, nil
}

// createView parses CREATE [TEMPORARY] VIEW [IF NOT EXISTS] name
// [(col [COMMENT '...'], ...)] [COMMENT '...'] AS query.
func (p *scriptParser) createView(c *cursor, at Pos, text string) (*CreateView, error) {
	cv := &CreateView{At: at, Text: text}
	c.next() // CREATE
	if c.peek().is("TEMPORARY") {
		c.next()
		cv.Temporary = true
	}
	c.next() // VIEW
	if c.peek().is("IF") {
		c.next()
		if err := c.word("NOT"); err != nil {
			return nil, err
		}
		if err := c.word("EXISTS"); err != nil {
			return nil, err
		}
		cv.IfNotExists = true
	}
	name, err := c.name("a view name")
	if err != nil {
		return nil, err
	}
	if c.peek().isOp(".") {
		return nil, c.errAt(c.peek(), "qualified view names (catalog.database.view) are not supported yet")
	}
	cv.Name, cv.NamePos = name.Name, name.At
	if c.peek().isOp("(") {
		c.next()
		for {
			id, err := c.name("a column name")
			if err != nil {
				return nil, err
			}
			cv.Columns = append(cv.Columns, id)
			if c.peek().is("COMMENT") {
				c.next()
				if c.peek().kind != tokString {
					return nil, c.unexpected("a 'string' after COMMENT")
				}
				c.next()
			}
			if c.peek().isOp(",") {
				c.next()
				continue
			}
			if !c.peek().isOp(")") {
				return nil, c.unexpected("',' or ')' in the column list")
			}
			c.next()
			break
		}
	}
	if c.peek().is("COMMENT") {
		c.next()
		t := c.peek()
		if t.kind != tokString {
			return nil, c.unexpected("a 'string' after COMMENT")
		}
		c.next()
		cv.Comment = t.val
	}
	if err := c.word("AS"); err != nil {
		return nil, err
	}
	t := c.peek()
	if !(t.is("SELECT") || t.isOp("(") || t.is("WITH")) {
		if t.is("VALUES") {
			return nil, c.errAt(t, "a view of VALUES is not supported yet")
		}
		return nil, c.unexpected("the view's query (SELECT ...)")
	}
	q, err := p.query(c.toks[c.i:], c.end)
	if err != nil {
		return nil, err
	}
	cv.Query = q
	return cv, nil
}

// tableElement parses one element of the column list: a column, a
// WATERMARK or a PRIMARY KEY.
func (p *scriptParser) tableElement(c *cursor, ct *CreateTable) error {
	t := c.peek()
	switch {
	case t.is("WATERMARK") && c.peekAt(1).is("FOR"):
		return p.watermark(c, ct)
	case t.is("PRIMARY") && c.peekAt(1).is("KEY"):
		return p.primaryKey(c, ct, nil)
	case t.is("CONSTRAINT") && c.peekAt(1).isName() && c.peekAt(2).is("PRIMARY"):
		c.next()
		c.next()
		return p.primaryKey(c, ct, nil)
	case t.is("PERIOD") && c.peekAt(1).is("FOR"):
		return c.errAt(t, "PERIOD FOR is not supported")
	}
	name, err := c.name("a column name, WATERMARK FOR or PRIMARY KEY")
	if err != nil {
		return err
	}
	if c.peek().is("AS") {
		return p.computedColumn(c, ct, name)
	}
	typPos := c.peek()
	typ, err := parseType(c)
	if err != nil {
		return err
	}
	col := Column{Name: name.Name, At: name.At, TypePos: c.src.pos(c.offOf(typPos))}
	for {
		t := c.peek()
		switch {
		case t.is("NOT") && c.peekAt(1).is("NULL"):
			c.next()
			c.next()
			typ.NotNull = true
			continue
		case t.is("NOT"):
			c.next()
			return c.unexpected("NULL after NOT")
		case t.is("NULL"):
			c.next()
			typ.NotNull = false
			continue
		case t.is("PRIMARY") && c.peekAt(1).is("KEY"):
			if err := p.primaryKey(c, ct, &name); err != nil {
				return err
			}
			continue
		case t.is("COMMENT"):
			c.next()
			if c.peek().kind != tokString {
				return c.unexpected("a 'string' after COMMENT")
			}
			c.next()
			continue
		case t.is("METADATA"):
			return c.errAt(t, "metadata columns are not supported yet")
		case t.is("AS"):
			return c.errAt(t, "a computed column has no type: write %s AS expr", name.Name)
		}
		break
	}
	col.Type = typ
	ct.Columns = append(ct.Columns, col)
	return nil
}

// computedColumn parses name AS expr [COMMENT '...']. The expression runs
// to the ',' or ')' that ends the element (or a COMMENT); TiDB parses it.
func (p *scriptParser) computedColumn(c *cursor, ct *CreateTable, name Ident) error {
	c.next() // AS
	from := c.i
	depth := 0
	for ; c.i < len(c.toks); c.i++ {
		t := c.toks[c.i]
		if t.isOp("(") {
			depth++
		} else if t.isOp(")") {
			if depth == 0 {
				break
			}
			depth--
		} else if depth == 0 && (t.isOp(",") || t.is("COMMENT") || t.is("METADATA") || t.is("VIRTUAL") || t.is("PRIMARY")) {
			break
		}
	}
	if c.i == from {
		return c.unexpected("the expression of computed column " + name.Name + " after AS")
	}
	if c.atEnd() {
		return c.unexpected("')' to close the column list")
	}
	if t := c.peek(); t.is("METADATA") || t.is("VIRTUAL") || t.is("PRIMARY") {
		return c.errAt(t, "a computed column takes no %s", strings.ToUpper(t.val))
	}
	exprToks := c.toks[from:c.i]
	q, expr, err := p.expression(exprToks, c.toks[c.i])
	if err != nil {
		return err
	}
	if c.peek().is("COMMENT") {
		c.next()
		if c.peek().kind != tokString {
			return c.unexpected("a 'string' after COMMENT")
		}
		c.next()
	}
	ct.Columns = append(ct.Columns, Column{Name: name.Name, At: name.At, TypePos: c.src.pos(exprToks[0].start), Expr: expr, Query: q})
	return nil
}

// enforcedMsg is Flink's error for a PRIMARY KEY that is not NOT ENFORCED.
const enforcedMsg = "Flink doesn't support ENFORCED mode for PRIMARY KEY constraint. ENFORCED/NOT ENFORCED controls if the constraint checks are performed on the incoming/outgoing data. Flink does not own the data therefore the only supported mode is the NOT ENFORCED mode"

// primaryKey parses PRIMARY KEY [(cols)] NOT ENFORCED; col is the column of
// an inline constraint (no column list then).
func (p *scriptParser) primaryKey(c *cursor, ct *CreateTable, col *Ident) error {
	pk := c.next() // PRIMARY
	if ct.PrimaryKey != nil {
		return c.errAt(pk, "a table can have only one PRIMARY KEY")
	}
	c.next() // KEY
	var cols []Ident
	if col != nil {
		cols = []Ident{*col}
	} else {
		var err error
		if cols, err = columnList(c); err != nil {
			return err
		}
	}
	if c.peek().is("ENFORCED") {
		return c.errAt(c.peek(), "%s: write NOT ENFORCED", enforcedMsg)
	}
	if !c.peek().is("NOT") {
		if col != nil {
			return c.errAt(pk, "%s: write %s TYPE PRIMARY KEY NOT ENFORCED", enforcedMsg, col.Name)
		}
		return c.errAt(pk, "%s: write PRIMARY KEY (...) NOT ENFORCED", enforcedMsg)
	}
	c.next() // NOT
	if err := c.word("ENFORCED"); err != nil {
		return err
	}
	ct.PrimaryKey = cols
	return nil
}

// watermark parses WATERMARK FOR col AS expr. The expression runs to the
// ',' or ')' that ends the element; TiDB parses it.
func (p *scriptParser) watermark(c *cursor, ct *CreateTable) error {
	wm := c.next() // WATERMARK
	if ct.Watermark != nil {
		return c.errAt(wm, "a table can have only one WATERMARK")
	}
	c.next() // FOR
	col, err := c.name("the name of the time column after WATERMARK FOR")
	if err != nil {
		return err
	}
	if err := c.word("AS"); err != nil {
		return err
	}
	from := c.i
	depth := 0
	for ; c.i < len(c.toks); c.i++ {
		t := c.toks[c.i]
		if t.isOp("(") {
			depth++
		} else if t.isOp(")") {
			if depth == 0 {
				break
			}
			depth--
		} else if t.isOp(",") && depth == 0 {
			break
		}
	}
	if c.i == from {
		return c.unexpected("the watermark expression after AS")
	}
	if c.atEnd() {
		return c.unexpected("')' to close the column list")
	}
	exprToks := c.toks[from:c.i]
	q, expr, err := p.expression(exprToks, c.toks[c.i])
	if err != nil {
		return err
	}
	ct.Watermark = &Watermark{
		At:        c.src.pos(wm.start),
		Column:    col.Name,
		ColumnPos: col.At,
		Expr:      expr,
		ExprPos:   c.src.pos(exprToks[0].start),
		Query:     q,
	}
	return nil
}

// options parses ('key' = 'value', ...).
func (p *scriptParser) options(c *cursor) ([]Option, error) {
	if err := c.op("("); err != nil {
		return nil, err
	}
	var opts []Option
	seen := map[string]bool{}
	if c.peek().isOp(")") {
		c.next()
		return opts, nil
	}
	for {
		k := c.peek()
		if k.kind != tokString {
			if k.isName() && !k.isOp(")") {
				return nil, c.errAt(k, "option key %s must be a quoted string: write '%s'", describe(c.src, k), k.val)
			}
			return nil, c.unexpected("an option 'key'")
		}
		c.next()
		if seen[k.val] {
			return nil, c.errAt(k, "duplicate option '%s'", k.val)
		}
		seen[k.val] = true
		if err := c.op("="); err != nil {
			return nil, c.unexpected("'=' after option '" + k.val + "'")
		}
		v := c.peek()
		switch {
		case v.kind == tokString:
		case v.isOp(",") || v.isOp(")") || v.start < 0:
			return nil, c.errAt(v, "missing value for option '%s'", k.val)
		case v.kind == tokNumber || v.kind == tokIdent:
			return nil, c.errAt(v, "value of option '%s' must be a quoted string: write '%s'", k.val, v.val)
		default:
			return nil, c.unexpected("a 'value' for option '" + k.val + "'")
		}
		c.next()
		opts = append(opts, Option{Key: k.val, Value: v.val, At: c.src.pos(k.start), ValuePos: c.src.pos(v.start)})
		if c.peek().isOp(",") {
			c.next()
			continue
		}
		if !c.peek().isOp(")") {
			return nil, c.unexpected("',' or ')' after an option")
		}
		c.next()
		return opts, nil
	}
}

// supportedTypes lists the column types, for error messages.
const supportedTypes = "BOOLEAN, INT, BIGINT, DOUBLE, DECIMAL(p, s), STRING, VARCHAR(n), TIMESTAMP(3) or TIMESTAMP_LTZ(3)"

// parseType parses a Flink type at the cursor:
//
//	BOOLEAN | INT | INTEGER | BIGINT | DOUBLE [PRECISION]
//	| DECIMAL | DEC | NUMERIC [(p [, s])] | STRING | VARCHAR [(n)] | CHAR [(n)]
//	| TIMESTAMP [(p)] [WITHOUT TIME ZONE]
//	| TIMESTAMP_LTZ [(p)] | TIMESTAMP [(p)] WITH LOCAL TIME ZONE
//
// NOT NULL is left to the caller.
func parseType(c *cursor) (types.Type, error) {
	t := c.peek()
	if t.kind != tokIdent {
		return types.Type{}, c.unexpected("a type (" + supportedTypes + ")")
	}
	c.next()
	w := strings.ToUpper(t.val)
	switch w {
	case "BOOLEAN":
		return types.BooleanType, nil
	case "INT", "INTEGER":
		return types.IntType, nil
	case "BIGINT":
		return types.BigIntType, nil
	case "DOUBLE":
		if c.peek().is("PRECISION") {
			c.next()
		}
		return types.DoubleType, nil
	case "DECIMAL", "DEC", "NUMERIC":
		p, s := 10, 0
		if c.peek().isOp("(") {
			c.next()
			pt := c.peek()
			n, err := typeParam(c, w+" precision")
			if err != nil {
				return types.Type{}, err
			}
			if n < 1 || n > 38 {
				return types.Type{}, c.errAt(pt, "%s precision must be between 1 and 38, got %d", w, n)
			}
			p = n
			if c.peek().isOp(",") {
				c.next()
				st := c.peek()
				n, err := typeParam(c, w+" scale")
				if err != nil {
					return types.Type{}, err
				}
				if n > p {
					return types.Type{}, c.errAt(st, "%s scale must be between 0 and the precision %d, got %d", w, p, n)
				}
				s = n
			}
			if err := c.op(")"); err != nil {
				return types.Type{}, err
			}
		}
		return types.DecimalType(p, s), nil
	case "STRING":
		return types.StringType, nil
	case "VARCHAR", "CHAR", "CHARACTER":
		if w == "CHARACTER" && c.peek().is("VARYING") {
			c.next()
			w = "VARCHAR"
		}
		n := 0 // VARCHAR without a length is unbounded, as in Flink
		if w != "VARCHAR" {
			n = 1 // CHAR means CHAR(1)
		}
		if c.peek().isOp("(") {
			c.next()
			lt := c.peek()
			v, err := typeParam(c, w+" length")
			if err != nil {
				return types.Type{}, err
			}
			if v < 1 {
				return types.Type{}, c.errAt(lt, "%s length must be at least 1", w)
			}
			n = v
			if err := c.op(")"); err != nil {
				return types.Type{}, err
			}
		}
		return types.Type{Kind: types.String, Length: n}, nil
	case "TIMESTAMP", "TIMESTAMP_LTZ":
		if c.peek().isOp("(") {
			c.next()
			pt := c.peek()
			v, err := typeParam(c, w+" precision")
			if err != nil {
				return types.Type{}, err
			}
			if v > 9 {
				return types.Type{}, c.errAt(pt, "%s precision must be between 0 and 9, got %d", w, v)
			}
			if v > 3 {
				return types.Type{}, c.errAt(pt, "%s(%d) is not supported: Eddy stores timestamps in milliseconds, use %s(3)", w, v, w)
			}
			if err := c.op(")"); err != nil {
				return types.Type{}, err
			}
		}
		ts := types.TimestampType
		if w == "TIMESTAMP_LTZ" {
			ts.LocalZone = true
			return ts, nil
		}
		if c.peek().is("WITH") {
			if c.peekAt(1).is("LOCAL") {
				c.next()
				c.next()
				for _, kw := range []string{"TIME", "ZONE"} {
					if err := c.word(kw); err != nil {
						return types.Type{}, err
					}
				}
				ts.LocalZone = true
				return ts, nil
			}
			return types.Type{}, c.errAt(t, "TIMESTAMP WITH TIME ZONE is not supported: use TIMESTAMP_LTZ(3) (TIMESTAMP WITH LOCAL TIME ZONE)")
		}
		if c.peek().is("WITHOUT") {
			c.next()
			if err := c.word("TIME"); err != nil {
				return types.Type{}, err
			}
			if err := c.word("ZONE"); err != nil {
				return types.Type{}, err
			}
		}
		return ts, nil
	case "TINYINT", "SMALLINT", "FLOAT", "REAL", "DATE", "TIME", "INTERVAL",
		"BINARY", "VARBINARY", "BYTES", "ARRAY", "MAP", "MULTISET", "ROW", "RAW", "NULL", "VARIANT", "DESCRIPTOR":
		return types.Type{}, c.errAt(t, "type %s is not supported yet: use %s", w, supportedTypes)
	}
	return types.Type{}, c.errAt(t, "unknown type %s: expected %s", describe(c.src, t), supportedTypes)
}

// typeParam consumes an unsigned integer type parameter.
func typeParam(c *cursor, what string) (int, error) {
	t := c.peek()
	if t.kind != tokNumber {
		return 0, c.unexpected("the " + what)
	}
	n, err := strconv.Atoi(t.val)
	if err != nil || n > 1<<31-1 {
		return 0, c.errAt(t, "invalid %s %s", what, t.val)
	}
	c.next()
	return n, nil
}
