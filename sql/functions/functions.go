package functions

import (
	"fmt"
	"sort"
	"strings"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/types"
)

// Ctx is what binding a call needs from the analyzer: positioned errors and
// the analyzer's typing rules (so there is one implementation of each).
type Ctx interface {
	// Errorf returns an error at argument i of the call (i < 0 or out of
	// range: at the call itself).
	Errorf(i int, format string, args ...any) error
	// CommonType is Flink's common type of a and b (ok false: none).
	CommonType(a, b types.Type) (types.Type, bool)
	// Cast converts e to t as an implicit cast does (nullability kept).
	Cast(e *expr.Expr, t types.Type) *expr.Expr
	// Compare types l op r (op one of = <> < <= > >=), errors at argument
	// i.
	Compare(op string, l, r *expr.Expr, i int) (*expr.Expr, error)
	// Arith types l op r (op one of + - * / %), errors at argument i.
	Arith(op string, l, r *expr.Expr, i int) (*expr.Expr, error)
	// Case builds a searched CASE whose values are cast to their common
	// type; valArgs[k] is the argument value k comes from, for errors.
	Case(conds, vals []*expr.Expr, hasElse bool, valArgs []int) (*expr.Expr, error)
}

// Func is a built-in scalar function.
type Func struct {
	// Name is the SQL name, upper case.
	Name string
	// Aliases are other names of the same function.
	Aliases []string
	// Category is "string", "time", "arithmetic" or "conditional".
	Category string
	// Synopsis shows the call, e.g. "SUBSTRING(s, pos [, len])".
	Synopsis string
	// Doc says what the function returns.
	Doc string
	// MinArgs and MaxArgs bound the argument count (MaxArgs -1: no bound).
	MinArgs, MaxArgs int
	bind             func(c Ctx, args []*expr.Expr) (*expr.Expr, error)
}

// Bind types a call of f with bound arguments and lowers it to an
// engine expression.
func (f *Func) Bind(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
	if len(args) < f.MinArgs || (f.MaxArgs >= 0 && len(args) > f.MaxArgs) {
		var want string
		switch {
		case f.MinArgs == f.MaxArgs:
			want = fmt.Sprintf("%d argument%s", f.MinArgs, plural(f.MinArgs))
		case f.MaxArgs < 0:
			want = fmt.Sprintf("at least %d argument%s", f.MinArgs, plural(f.MinArgs))
		default:
			want = fmt.Sprintf("%d to %d arguments", f.MinArgs, f.MaxArgs)
		}
		return nil, c.Errorf(-1, "%s takes %s, got %d: %s", f.Name, want, len(args), f.Synopsis)
	}
	return f.bind(c, args)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

var (
	registry = map[string]*Func{}
	all      []*Func
)

// register adds f under its name and aliases.
func register(f *Func) {
	for _, n := range append([]string{f.Name}, f.Aliases...) {
		key := strings.ToLower(n)
		if _, dup := registry[key]; dup {
			panic("functions: " + n + " registered twice") // a programming error, caught by any test
		}
		registry[key] = f
	}
	all = append(all, f)
}

// Lookup returns the built-in function called name (case-insensitive).
func Lookup(name string) (*Func, bool) {
	f, ok := registry[strings.ToLower(name)]
	return f, ok
}

// All returns every built-in function, sorted by category and name.
func All() []*Func {
	out := append([]*Func(nil), all...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Category != out[j].Category {
			return out[i].Category < out[j].Category
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Names returns every name and alias, lower case, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		if !strings.HasPrefix(n, "__") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// UnknownMessage is the error for a call of a function that does not
// exist: "unknown function 'foo'", with close names (built-in or among
// more, e.g. the user-defined functions) when there are some.
func UnknownMessage(name string, more []string) string {
	msg := fmt.Sprintf("unknown function '%s'", name)
	close := Suggest(name, more)
	switch len(close) {
	case 0:
		return msg
	case 1:
		return fmt.Sprintf("%s (did you mean '%s'?)", msg, close[0])
	}
	q := make([]string, len(close))
	for i, c := range close {
		q[i] = "'" + c + "'"
	}
	return fmt.Sprintf("%s (did you mean one of %s?)", msg, strings.Join(q, ", "))
}

// Suggest returns up to three known names close to name (edit distance at
// most 1 for names of up to 4 letters, 2 up to 11 letters, else 3; or name
// is a prefix of them), closest first, upper case for built-ins.
func Suggest(name string, more []string) []string {
	name = strings.ToLower(name)
	limit := 1
	switch {
	case len(name) >= 12:
		limit = 3
	case len(name) >= 5:
		limit = 2
	}
	type cand struct {
		s string
		d int
	}
	var cands []cand
	seen := map[string]bool{}
	consider := func(n, show string) {
		if seen[show] || n == name {
			return
		}
		d := editDistance(name, n)
		if d > limit && !(len(name) >= 3 && strings.HasPrefix(n, name)) {
			return
		}
		seen[show] = true
		cands = append(cands, cand{show, d})
	}
	for _, n := range Names() {
		consider(n, strings.ToUpper(n))
	}
	for _, n := range more {
		consider(strings.ToLower(n), n)
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].d != cands[j].d {
			return cands[i].d < cands[j].d
		}
		return cands[i].s < cands[j].s
	})
	out := make([]string, 0, 3)
	for i := 0; i < len(cands) && i < 3; i++ {
		out = append(out, cands[i].s)
	}
	return out
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
