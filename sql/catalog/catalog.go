package catalog

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/sql/parse"
)

// Table is a table declared by CREATE TABLE.
type Table struct {
	// Name is the table name as written.
	Name string
	// At is where the table name was written.
	At parse.Pos
	// Schema is the physical schema, with column names as written. No
	// column is marked RowTime here: Watermark says which one is.
	Schema types.Schema
	// Watermark is the WATERMARK FOR clause, or nil.
	Watermark *jobgraph.WatermarkSpec
	// Connector is the value of the 'connector' option, lower-cased.
	Connector string
	// Options are the WITH options, keys lower-cased (including 'connector').
	Options map[string]string
	// Factory is the registered factory of Connector.
	Factory connectors.Factory
	// PrimaryKey holds the column indices of PRIMARY KEY (...) NOT
	// ENFORCED, or nil.
	PrimaryKey []int
	// PartitionKeys holds the column indices of PARTITIONED BY (...), or
	// nil. Only the filesystem connector uses them.
	PartitionKeys []int
	// Columns are all the declared columns in declared order: the
	// physical ones (Schema) and the computed ones (name AS expr).
	Columns []Column
	// ComputedWatermark is the WATERMARK FOR clause when its column is a
	// computed one (Watermark is nil then), or nil.
	ComputedWatermark *ComputedWatermark
}

// Column is one declared column of a table.
type Column struct {
	Name string
	At   parse.Pos
	// Physical is the column's index in the table's Schema, or -1 for a
	// computed column.
	Physical int
	// Expr is a computed column's expression (nil for a physical column),
	// written at ExprPos; Query holds its rewrites and positions. The
	// analyzer binds it over the physical columns.
	Expr    ast.ExprNode
	ExprPos parse.Pos
	Query   *parse.Query
}

// ComputedWatermark is WATERMARK FOR col AS col - INTERVAL ... on a
// computed column. The catalog cannot type the column (the analyzer binds
// its expression), so the analyzer checks that it is a TIMESTAMP(3) or
// TIMESTAMP_LTZ(3).
type ComputedWatermark struct {
	// Column is the column's index in Table.Columns.
	Column  int
	DelayMs int64
	// At is the WATERMARK clause; ColumnPos its column name.
	At, ColumnPos parse.Pos
}

// HasComputed reports whether the table declares computed columns.
func (t *Table) HasComputed() bool { return len(t.Columns) != len(t.Schema.Fields) }

// View is a view declared by CREATE [TEMPORARY] VIEW: a named query that
// expands where it is used.
type View struct {
	// Name is the view name as written, at At.
	Name string
	At   parse.Pos
	// Columns renames the query's columns, or is nil.
	Columns   []parse.Ident
	Query     *parse.Query
	Temporary bool
	// Schema is the view's output, as the analyzer derived it when the
	// view was created.
	Schema types.Schema
}

// Ref returns the table as the job graph names it.
func (t *Table) Ref() jobgraph.TableRef {
	opts := make(map[string]string, len(t.Options))
	for k, v := range t.Options {
		opts[k] = v
	}
	return jobgraph.TableRef{
		Table:      t.Name,
		Connector:  t.Connector,
		Options:    opts,
		Schema:     types.Schema{Fields: append([]types.Field(nil), t.Schema.Fields...)},
		PrimaryKey: append([]int(nil), t.PrimaryKey...),
		// PartitionKeys: nil when there are none, so job graphs of
		// unpartitioned tables stay as they were.
		PartitionKeys: append([]int(nil), t.PartitionKeys...),
	}
}

// IsSource reports whether the table's connector can be read.
func (t *Table) IsSource() bool {
	_, ok := t.Factory.(connectors.SourceFactory)
	_, split := t.Factory.(connectors.SplitSourceFactory)
	return ok || split
}

// IsSink reports whether the table's connector can be written.
func (t *Table) IsSink() bool {
	_, ok := t.Factory.(connectors.SinkFactory)
	return ok
}

// Catalog is the set of tables and views of one script. Tables and views
// share one namespace.
type Catalog struct {
	reg    *connectors.Registry
	file   string
	tables map[string]*Table
	order  []*Table
	views  map[string]*View
}

// New returns an empty catalog whose tables use the connectors of reg.
// file names the script in error messages.
func New(reg *connectors.Registry, file string) *Catalog {
	return &Catalog{reg: reg, file: file, tables: map[string]*Table{}, views: map[string]*View{}}
}

// LookupView returns the view called name (case-insensitive).
func (c *Catalog) LookupView(name string) (*View, bool) {
	v, ok := c.views[strings.ToLower(name)]
	return v, ok
}

// CheckName returns an error when name, written at at, is already the name
// of a table or a view.
func (c *Catalog) CheckName(name string, at parse.Pos) error { return c.taken(name, at) }

// taken returns an error when name is already a table or a view.
func (c *Catalog) taken(name string, at parse.Pos) error {
	key := strings.ToLower(name)
	if old, dup := c.tables[key]; dup {
		return c.errorf(at, "table '%s' already exists (created at %s)", name, old.At)
	}
	if old, dup := c.views[key]; dup {
		return c.errorf(at, "view '%s' already exists (created at %s)", name, old.At)
	}
	return nil
}

// ViewExists reports whether CREATE VIEW ... IF NOT EXISTS st has nothing
// to do: its name is taken (by a view or a table) already.
func (c *Catalog) ViewExists(st *parse.CreateView) bool {
	return st.IfNotExists && c.taken(st.Name, st.NamePos) != nil
}

// CreateView adds the view of st, whose query the analyzer has checked and
// found to produce schema (before the view's own column names are
// applied). Errors are *parse.Error.
func (c *Catalog) CreateView(st *parse.CreateView, schema types.Schema) (*View, error) {
	if err := c.taken(st.Name, st.NamePos); err != nil {
		if v, ok := c.views[strings.ToLower(st.Name)]; ok && st.IfNotExists {
			return v, nil
		}
		return nil, err
	}
	v := &View{Name: st.Name, At: st.NamePos, Columns: st.Columns, Query: st.Query, Temporary: st.Temporary}
	fields := append([]types.Field(nil), schema.Fields...)
	if st.Columns != nil {
		if len(st.Columns) != len(fields) {
			return nil, c.errorf(st.NamePos, "view '%s' names %s but its query produces %d", st.Name, plural(len(st.Columns), "column"), len(fields))
		}
		for i, col := range st.Columns {
			fields[i].Name = col.Name
		}
	}
	seen := map[string]bool{}
	for i, f := range fields {
		k := strings.ToLower(f.Name)
		if seen[k] {
			at := st.NamePos
			if st.Columns != nil {
				at = st.Columns[i].At
			}
			return nil, c.errorf(at, "view '%s' has two columns named '%s'; name them apart (AS ...)", st.Name, f.Name)
		}
		seen[k] = true
	}
	v.Schema = types.Schema{Fields: fields}
	c.views[strings.ToLower(st.Name)] = v
	return v, nil
}

// Lookup returns the table called name (case-insensitive).
func (c *Catalog) Lookup(name string) (*Table, bool) {
	t, ok := c.tables[strings.ToLower(name)]
	return t, ok
}

// Tables returns the tables in the order they were created.
func (c *Catalog) Tables() []*Table { return append([]*Table(nil), c.order...) }

func (c *Catalog) errorf(p parse.Pos, format string, args ...any) *parse.Error {
	return &parse.Error{File: c.file, Pos: p, Msg: fmt.Sprintf(format, args...)}
}

// Create checks a CREATE TABLE statement and adds its table. It returns the
// new table, or the existing one when the statement says IF NOT EXISTS and
// the name is taken by a table (nil when it is taken by a view). Errors are
// *parse.Error.
func (c *Catalog) Create(st *parse.CreateTable) (*Table, error) {
	key := strings.ToLower(st.Name)
	if old, dup := c.tables[key]; dup && st.IfNotExists {
		return old, nil
	}
	if _, isView := c.views[key]; isView && st.IfNotExists {
		return nil, nil // IF NOT EXISTS: the name is taken, nothing to do
	}
	if err := c.taken(st.Name, st.NamePos); err != nil {
		return nil, err
	}
	t := &Table{Name: st.Name, At: st.NamePos}
	if len(st.Columns) == 0 {
		return nil, c.errorf(st.NamePos, "table '%s' has no columns", st.Name)
	}
	seen := map[string]parse.Pos{}
	for _, col := range st.Columns {
		k := strings.ToLower(col.Name)
		if first, dup := seen[k]; dup {
			return nil, c.errorf(col.At, "duplicate column '%s' in table '%s' (first declared at %s)", col.Name, st.Name, first)
		}
		seen[k] = col.At
		if col.Computed() {
			t.Columns = append(t.Columns, Column{Name: col.Name, At: col.At, Physical: -1, Expr: col.Expr, ExprPos: col.TypePos, Query: col.Query})
			continue
		}
		switch col.Type.Kind {
		case types.Null, types.Interval:
			return nil, c.errorf(col.At, "column '%s' cannot have type %s", col.Name, col.Type)
		}
		ty := col.Type
		ty.RowTime, ty.ProcTime = false, false
		t.Columns = append(t.Columns, Column{Name: col.Name, At: col.At, Physical: len(t.Schema.Fields)})
		t.Schema.Fields = append(t.Schema.Fields, types.Field{Name: col.Name, Type: ty})
	}
	if len(t.Schema.Fields) == 0 {
		return nil, c.errorf(st.NamePos, "table '%s' has no physical columns: a computed column is computed from them", st.Name)
	}
	for _, k := range st.PrimaryKey {
		i := t.Schema.Index(k.Name)
		if i < 0 {
			if j := t.column(k.Name); j >= 0 {
				return nil, c.errorf(k.At, "PRIMARY KEY column '%s' of table '%s' is a computed column; the key must be made of physical columns", k.Name, st.Name)
			}
			return nil, c.errorf(k.At, "PRIMARY KEY names unknown column '%s' of table '%s'", k.Name, st.Name)
		}
		for _, j := range t.PrimaryKey {
			if j == i {
				return nil, c.errorf(k.At, "column '%s' is listed twice in the PRIMARY KEY", k.Name)
			}
		}
		t.PrimaryKey = append(t.PrimaryKey, i)
		// A primary key column is NOT NULL (Flink).
		t.Schema.Fields[i].Type.NotNull = true
	}
	for _, k := range st.PartitionKeys {
		i := t.Schema.Index(k.Name)
		if i < 0 {
			if j := t.column(k.Name); j >= 0 {
				return nil, c.errorf(k.At, "PARTITIONED BY column '%s' of table '%s' is a computed column; partition columns must be physical columns", k.Name, st.Name)
			}
			return nil, c.errorf(k.At, "PARTITIONED BY names unknown column '%s' of table '%s'", k.Name, st.Name)
		}
		for _, j := range t.PartitionKeys {
			if j == i {
				return nil, c.errorf(k.At, "column '%s' is listed twice in PARTITIONED BY", k.Name)
			}
		}
		switch ty := t.Schema.Fields[i].Type; ty.Kind {
		case types.String, types.Int, types.BigInt:
		default:
			return nil, c.errorf(k.At, "PARTITIONED BY column '%s' of table '%s' has type %s; a partition column must be STRING, VARCHAR, INT or BIGINT (its value is a directory name)", k.Name, st.Name, ty)
		}
		t.PartitionKeys = append(t.PartitionKeys, i)
	}
	if len(t.PartitionKeys) > 0 && len(t.PartitionKeys) == len(t.Schema.Fields) {
		return nil, c.errorf(st.PartitionKeys[0].At, "table '%s' is partitioned by all its physical columns; at least one must be left for the files", st.Name)
	}
	if st.Watermark != nil {
		if err := c.watermark(t, st.Watermark); err != nil {
			return nil, err
		}
	}
	if err := c.options(t, st); err != nil {
		return nil, err
	}
	c.tables[key] = t
	c.order = append(c.order, t)
	return t, nil
}

// column returns the index in t.Columns of the column called name, or -1.
func (t *Table) column(name string) int {
	for i, col := range t.Columns {
		if strings.EqualFold(col.Name, name) {
			return i
		}
	}
	return -1
}

// watermark checks WATERMARK FOR col AS expr: expr is col or col -
// INTERVAL 'n' unit, and a physical col is a TIMESTAMP(3) or
// TIMESTAMP_LTZ(3) (the analyzer checks a computed col's type). It sets
// t.Watermark or t.ComputedWatermark.
func (c *Catalog) watermark(t *Table, w *parse.Watermark) error {
	ci := t.column(w.Column)
	if ci < 0 {
		return c.errorf(w.ColumnPos, "WATERMARK FOR names unknown column '%s' of table '%s'", w.Column, t.Name)
	}
	col := t.Columns[ci]
	idx := col.Physical
	if idx >= 0 {
		ty := t.Schema.Fields[idx].Type
		if ty.Kind != types.Timestamp || ty.Precision != 3 {
			return c.errorf(w.ColumnPos, "WATERMARK FOR column '%s' must be TIMESTAMP(3) or TIMESTAMP_LTZ(3), not %s", col.Name, ty)
		}
	}
	pos := func(n ast.Node) parse.Pos {
		if w.Query != nil && n != nil && n.OriginTextPosition() > 0 {
			return w.Query.PosOfOffset(n.OriginTextPosition())
		}
		return w.ExprPos
	}
	unsupported := func(n ast.Node) error {
		return c.errorf(pos(n), "watermark expression not supported: use %s or %s - INTERVAL 'n' SECOND (bounded out-of-orderness)", w.Column, w.Column)
	}
	isCol := func(e ast.ExprNode) bool {
		cn, ok := unparen(e).(*ast.ColumnNameExpr)
		return ok && cn.Name.Table.L == "" && strings.EqualFold(cn.Name.Name.O, col.Name)
	}
	set := func(delay int64) error {
		if idx >= 0 {
			t.Watermark = &jobgraph.WatermarkSpec{Column: idx, DelayMs: delay}
		} else {
			t.ComputedWatermark = &ComputedWatermark{Column: ci, DelayMs: delay, At: w.At, ColumnPos: w.ColumnPos}
		}
		return nil
	}
	e := unparen(w.Expr)
	if e == nil {
		return c.errorf(w.ExprPos, "missing watermark expression")
	}
	if isCol(e) {
		return set(0)
	}
	switch x := e.(type) {
	case *ast.FuncCallExpr:
		if x.FnName.L != ast.DateSub || len(x.Args) != 3 || !isCol(x.Args[0]) {
			return unsupported(e)
		}
		ms, err := IntervalMs(x.Args[1], x.Args[2])
		if err != nil {
			return c.errorf(pos(x.Args[1]), "%v", err)
		}
		if ms < 0 {
			return c.errorf(pos(x.Args[1]), "watermark delay must not be negative")
		}
		return set(ms)
	case *ast.BinaryOperationExpr:
		if x.Op == opcode.Minus && isCol(x.L) {
			return c.errorf(pos(x.R), "watermark delay must be an INTERVAL, e.g. %s - INTERVAL '5' SECOND", w.Column)
		}
	}
	return unsupported(e)
}

func unparen(e ast.ExprNode) ast.ExprNode {
	for {
		p, ok := e.(*ast.ParenthesesExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// IntervalMs converts the value and unit of INTERVAL value unit (as TiDB
// parses it: a literal and an *ast.TimeUnitExpr) into milliseconds. Day-time
// units only: DAY, HOUR, MINUTE, SECOND (fractions of a second down to
// milliseconds are allowed) and MICROSECOND in whole milliseconds.
func IntervalMs(value, unit ast.ExprNode) (int64, error) {
	u, ok := unit.(*ast.TimeUnitExpr)
	if !ok {
		return 0, fmt.Errorf("INTERVAL needs a unit")
	}
	v, ok := unparen(value).(ast.ValueExpr)
	neg := false
	if !ok {
		if un, isUn := unparen(value).(*ast.UnaryOperationExpr); isUn && un.Op == opcode.Minus {
			if v, ok = unparen(un.V).(ast.ValueExpr); ok {
				neg = true
			}
		}
		if !ok {
			return 0, fmt.Errorf("INTERVAL value must be a literal, e.g. INTERVAL '5' SECOND")
		}
	}
	var text string
	switch x := v.GetValue().(type) {
	case string:
		text = strings.TrimSpace(x)
	case int64:
		text = strconv.FormatInt(x, 10)
	case uint64:
		text = strconv.FormatUint(x, 10)
	case fmt.Stringer: // a decimal literal
		text = x.String()
	default:
		return 0, fmt.Errorf("INTERVAL value must be a number, e.g. INTERVAL '5' SECOND")
	}
	if strings.HasPrefix(text, "-") {
		neg = !neg
		text = strings.TrimSpace(text[1:])
	} else if strings.HasPrefix(text, "+") {
		text = strings.TrimSpace(text[1:])
	}
	var unitMs int64
	switch strings.ToUpper(u.Unit.String()) {
	case "DAY":
		unitMs = 86_400_000
	case "HOUR":
		unitMs = 3_600_000
	case "MINUTE":
		unitMs = 60_000
	case "SECOND":
		unitMs = 1000
	default:
		return 0, fmt.Errorf("INTERVAL unit %s is not supported (use DAY, HOUR, MINUTE or SECOND)", u.Unit.String())
	}
	whole, frac, hasFrac := strings.Cut(text, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || whole == "" {
		return 0, fmt.Errorf("INTERVAL value '%s' is not a number", text)
	}
	const maxMs = int64(1) << 53
	if n > maxMs/unitMs {
		return 0, fmt.Errorf("INTERVAL value '%s' %s is too large", text, u.Unit.String())
	}
	ms := n * unitMs
	if hasFrac {
		if unitMs != 1000 || frac == "" || len(frac) > 3 {
			return 0, fmt.Errorf("INTERVAL value '%s' %s must be whole (or a SECOND with at most 3 decimals)", text, u.Unit.String())
		}
		f, err := strconv.ParseInt((frac + "00")[:3], 10, 64)
		if err != nil || f < 0 {
			return 0, fmt.Errorf("INTERVAL value '%s' is not a number", text)
		}
		ms += f
	}
	if neg {
		ms = -ms
	}
	return ms, nil
}

// options checks the WITH options: a registered 'connector', then every
// other option against the factory's specs, then the factory's own table
// check.
func (c *Catalog) options(t *Table, st *parse.CreateTable) error {
	t.Options = map[string]string{}
	pos := map[string]parse.Pos{}
	valuePos := map[string]parse.Pos{}
	for _, o := range st.Options {
		k := strings.ToLower(strings.TrimSpace(o.Key))
		if first, dup := pos[k]; dup {
			return c.errorf(o.At, "option '%s' is given twice (first at %s)", k, first)
		}
		pos[k] = o.At
		valuePos[k] = o.At
		if o.ValuePos.Line > 0 {
			valuePos[k] = o.ValuePos
		}
		t.Options[k] = o.Value
	}
	known := "none registered"
	if names := c.reg.Names(); len(names) > 0 {
		known = "'" + strings.Join(names, "', '") + "'"
	}
	name, ok := t.Options["connector"]
	if !ok {
		return c.errorf(st.NamePos, "table '%s' has no 'connector' option (known connectors: %s)", t.Name, known)
	}
	f, ok := c.reg.Lookup(name)
	if !ok {
		return c.errorf(valuePos["connector"], "unknown connector '%s' (known connectors: %s)", name, known)
	}
	t.Connector = strings.ToLower(f.Name())
	t.Factory = f
	specs := f.Options()
	// Check each option on its own first, so an error points at it.
	optional := make([]connectors.OptionSpec, len(specs))
	for i, s := range specs {
		s.Required = false
		optional[i] = s
	}
	keys := make([]string, 0, len(t.Options))
	for k := range t.Options {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return pos[keys[i]].Offset < pos[keys[j]].Offset })
	for _, k := range keys {
		if err := connectors.ValidateOptions(optional, map[string]string{k: t.Options[k]}); err != nil {
			at := pos[k] // an unknown key
			for _, sp := range specs {
				if sp.Key == k {
					at = valuePos[k] // a bad value
				}
			}
			return c.errorf(at, "table '%s', connector '%s': %v", t.Name, t.Connector, err)
		}
	}
	if err := connectors.ValidateOptions(specs, t.Options); err != nil {
		return c.errorf(st.NamePos, "table '%s', connector '%s': %v", t.Name, t.Connector, err)
	}
	if v, ok := f.(connectors.TableValidator); ok {
		ref := t.Ref()
		info := connectors.TableInfo{Name: t.Name, Schema: ref.Schema, Options: ref.Options, PrimaryKey: ref.PrimaryKey,
			PartitionKeys: ref.PartitionKeys}
		if err := v.ValidateTable(info); err != nil {
			return c.errorf(st.NamePos, "table '%s', connector '%s': %v", t.Name, t.Connector, err)
		}
	}
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
