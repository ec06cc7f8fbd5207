package expr

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/datadriven"

	"github.com/eddy-streaming/eddy/engine/types"
)

// goldenSchema is the input of the golden tests; goldenRows its data, one
// string per column per row ("NULL" is NULL).
var (
	goldenSchema = types.Schema{Fields: []types.Field{
		{Name: "a", Type: types.BigIntType}, {Name: "b", Type: types.BigIntType}, {Name: "i", Type: types.IntType},
		{Name: "d", Type: types.DoubleType}, {Name: "m", Type: types.DecimalType(10, 2)}, {Name: "s", Type: types.StringType},
		{Name: "t", Type: types.TimestampType}, {Name: "f", Type: types.BooleanType},
	}}
	goldenRows = [][]string{
		{"7", "2", "2147483647", "2.5", "12.35", "42", "1700000000123", "true"},
		{"-7", "0", "-2147483648", "-0.0", "-0.05", " yes ", "0", "false"},
		{"NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"},
	}
)

// TestGolden runs testdata/*: "compile" prints the compiled expression or
// the compile error; "eval" evaluates it over goldenRows and prints the
// values or the error, after checking them against the reference
// evaluator. Rewrite with -rewrite.
func TestGolden(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cols := goldenColumns(mem)
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	f := &fixture{schema: goldenSchema, cols: cols, n: len(goldenRows)}
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			e, err := parseSexpr(strings.TrimSpace(d.Input))
			if err != nil {
				t.Fatalf("%s: %v", d.Pos, err)
			}
			ev, err := Compile(e, goldenSchema)
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			switch d.Cmd {
			case "compile":
				return ev.Type().String() + ": " + ev.(*evaluator).String() + "\n"
			case "eval":
				want := make([]rv, f.n)
				var refErr error
				for i := 0; i < f.n && refErr == nil; i++ {
					want[i], refErr = refEval(e, f.row(i))
				}
				out, err := ev.EvalColumns(context.Background(), cols, f.n, mem)
				if err != nil {
					if refErr == nil {
						t.Fatalf("%s: engine fails, reference does not: %v", d.Pos, err)
					}
					return "error: " + err.Error() + "\n"
				}
				defer out.Release()
				if refErr != nil {
					t.Fatalf("%s: reference fails, engine does not", d.Pos)
				}
				var sb strings.Builder
				for i := 0; i < f.n; i++ {
					g := readRow(out, e.Type, i)
					if !sameRV(e.Type, g, want[i]) {
						t.Fatalf("%s: row %d: got %s, reference %s", d.Pos, i, showRV(e.Type, g), showRV(e.Type, want[i]))
					}
					fmt.Fprintf(&sb, "%s\n", showRV(e.Type, g))
				}
				return sb.String()
			}
			t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
			return ""
		})
	})
}

// goldenColumns builds goldenRows as columns.
func goldenColumns(mem memory.Allocator) []arrow.Array {
	cols := make([]arrow.Array, len(goldenSchema.Fields))
	for c, fd := range goldenSchema.Fields {
		vals := make([]any, len(goldenRows))
		for r, row := range goldenRows {
			if row[c] != "NULL" {
				vals[r] = row[c]
			}
		}
		cols[c] = arrayOf(mem, fd.Type, vals)
	}
	return cols
}

// parseSexpr parses the golden files' expression syntax:
//
//	$name                   a column of goldenSchema
//	5:INT  'text':STRING    a literal of a type ('...' quotes text)
//	null:DECIMAL(10,2)      a typed NULL
//	(func TYPE arg...)      a call with its result type
func parseSexpr(s string) (*Expr, error) {
	p := &sexprParser{s: s}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.skip()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("trailing text %q", p.s[p.i:])
	}
	return e, nil
}

type sexprParser struct {
	s string
	i int
}

func (p *sexprParser) skip() {
	for p.i < len(p.s) && unicode.IsSpace(rune(p.s[p.i])) {
		p.i++
	}
}

func (p *sexprParser) token() string {
	p.skip()
	start := p.i
	if p.i < len(p.s) && p.s[p.i] == '\'' {
		p.i++
		for p.i < len(p.s) && p.s[p.i] != '\'' {
			p.i++
		}
		p.i++
	}
	for p.i < len(p.s) && !unicode.IsSpace(rune(p.s[p.i])) && p.s[p.i] != ')' {
		if p.s[p.i] == '(' {
			if p.i == start {
				break
			}
			// A type's parameters: DECIMAL(10,2), VARCHAR(3).
			for p.i < len(p.s) && p.s[p.i] != ')' {
				p.i++
			}
		}
		p.i++
	}
	return p.s[start:p.i]
}

func (p *sexprParser) expr() (*Expr, error) {
	p.skip()
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("unexpected end")
	}
	if p.s[p.i] == '(' {
		p.i++
		fn := p.token()
		t, err := parseType(p.token())
		if err != nil {
			return nil, err
		}
		var args []*Expr
		for {
			p.skip()
			if p.i < len(p.s) && p.s[p.i] == ')' {
				p.i++
				return Call(fn, t, args...), nil
			}
			a, err := p.expr()
			if err != nil {
				return nil, err
			}
			args = append(args, a)
		}
	}
	tok := p.token()
	if strings.HasPrefix(tok, "$") {
		i := goldenSchema.Index(tok[1:])
		if i < 0 {
			return nil, fmt.Errorf("unknown column %s", tok)
		}
		return Col(i, goldenSchema.Fields[i].Type), nil
	}
	k := strings.LastIndex(tok, ":")
	if k < 0 {
		return nil, fmt.Errorf("literal %q has no :TYPE", tok)
	}
	t, err := parseType(tok[k+1:])
	if err != nil {
		return nil, err
	}
	v := tok[:k]
	if v == "null" {
		return NullLit(t), nil
	}
	return Lit(strings.Trim(v, "'"), t), nil
}

func parseType(s string) (types.Type, error) {
	name, args, _ := strings.Cut(strings.TrimSuffix(s, ")"), "(")
	var nums []int
	if args != "" {
		for _, a := range strings.Split(args, ",") {
			n, err := strconv.Atoi(a)
			if err != nil {
				return types.Type{}, fmt.Errorf("type %q: %v", s, err)
			}
			nums = append(nums, n)
		}
	}
	switch name {
	case "BOOLEAN":
		return types.BooleanType, nil
	case "INT":
		return types.IntType, nil
	case "BIGINT":
		return types.BigIntType, nil
	case "DOUBLE":
		return types.DoubleType, nil
	case "STRING":
		return types.StringType, nil
	case "VARCHAR":
		return types.Type{Kind: types.String, Length: nums[0]}, nil
	case "TIMESTAMP":
		return types.TimestampType, nil
	case "INTERVAL":
		return types.IntervalType, nil
	case "NULL":
		return types.Type{}, nil
	case "DECIMAL":
		return types.DecimalType(nums[0], nums[1]), nil
	}
	return types.Type{}, fmt.Errorf("unknown type %q", s)
}
