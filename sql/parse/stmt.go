package parse

import "strings"

// insert parses INSERT INTO table [(cols)] query.
func (p *scriptParser) insert(c *cursor, at Pos, text string) (*Insert, error) {
	c.next() // INSERT
	if c.peek().is("OVERWRITE") {
		return nil, c.errAt(c.peek(), "INSERT OVERWRITE is not supported yet")
	}
	if err := c.word("INTO"); err != nil {
		return nil, err
	}
	if c.peek().is("TABLE") { // INSERT INTO TABLE t, as Hive writes it
		c.next()
	}
	name, err := c.name("the name of the table to insert into")
	if err != nil {
		return nil, err
	}
	if c.peek().isOp(".") {
		return nil, c.errAt(c.peek(), "qualified table names (catalog.database.table) are not supported yet")
	}
	ins := &Insert{At: at, Text: text, Table: name.Name, TablePos: name.At}
	if c.peek().is("PARTITION") {
		return nil, c.errAt(c.peek(), "INSERT ... PARTITION is not supported yet")
	}
	if c.peek().isOp("(") && !c.peekAt(1).is("SELECT") && !c.peekAt(1).isOp("(") && !c.peekAt(1).is("WITH") {
		c.next()
		for {
			id, err := c.name("a column name")
			if err != nil {
				return nil, err
			}
			ins.Columns = append(ins.Columns, id)
			if c.peek().isOp(",") {
				c.next()
				continue
			}
			if err := c.op(")"); err != nil {
				return nil, c.unexpected("',' or ')' in the column list")
			}
			break
		}
	}
	t := c.peek()
	switch {
	case t.is("SELECT") || t.isOp("(") || t.is("WITH"):
	case t.is("VALUES"):
		return nil, c.errAt(t, "INSERT ... VALUES is not supported yet")
	default:
		return nil, c.unexpected("a SELECT query")
	}
	q, err := p.query(c.toks[c.i:], c.end)
	if err != nil {
		return nil, err
	}
	ins.Query = q
	return ins, nil
}

// set parses SET 'key' = 'value' or SET key = value. Unquoted keys and
// values are taken as written (they may contain '.', '-' and the like).
func (p *scriptParser) set(c *cursor, at Pos, text string) (*Set, error) {
	setTok := c.next()
	if c.atEnd() {
		return nil, c.errAt(setTok, "SET needs a 'key' = 'value' pair (listing the settings is not supported)")
	}
	eq := -1
	for k := c.i; k < len(c.toks); k++ {
		if c.toks[k].isOp("=") {
			eq = k
			break
		}
	}
	if eq < 0 {
		return nil, c.errAt(c.toks[c.i], "SET needs 'key' = 'value'")
	}
	if eq == c.i {
		return nil, c.errAt(c.toks[eq], "missing key before '=' in SET")
	}
	key, keyAt, err := p.setPart(c, c.toks[c.i:eq], "key")
	if err != nil {
		return nil, err
	}
	if eq == len(c.toks)-1 {
		return nil, c.errAt(eofTok, "missing value after '=' in SET")
	}
	val, valAt, err := p.setPart(c, c.toks[eq+1:], "value")
	if err != nil {
		return nil, err
	}
	return &Set{At: at, Text: text, Key: key, Value: val, KeyPos: keyAt, ValuePos: valAt}, nil
}

// setPart returns the key or value of a SET: a single 'string', or the raw
// text of the unquoted tokens.
func (p *scriptParser) setPart(c *cursor, toks []token, what string) (string, Pos, error) {
	at := c.src.pos(toks[0].start)
	if toks[0].kind == tokString {
		if len(toks) > 1 {
			return "", at, c.errAt(toks[1], "syntax error at or near %s: expected the end of the SET %s", describe(c.src, toks[1]), what)
		}
		return toks[0].val, at, nil
	}
	for _, t := range toks {
		if t.kind == tokString || t.kind == tokQuoted {
			return "", at, c.errAt(t, "syntax error at or near %s: quote the whole SET %s or none of it", describe(c.src, t), what)
		}
	}
	return strings.TrimSpace(p.clean[toks[0].start:toks[len(toks)-1].end]), at, nil
}
