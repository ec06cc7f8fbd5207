package analyze

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/eddy-streaming/eddy/planner/logical"
)

// span names a run of a relation's columns: the columns [from, from+n) come
// from the FROM item called qual ("" for an item without a name, such as a
// subquery without an alias).
type span struct {
	qual    string
	from, n int
}

// single returns a relation of node whose columns are all qualified by
// qual.
func single(node logical.Node, qual string) *rel {
	return &rel{node: node, scope: []span{{qual: qual, n: node.Schema().Len()}}}
}

// same returns a relation of node (which has r's columns, and maybe more
// after them) named as r is.
func (r *rel) same(node logical.Node) *rel {
	return &rel{node: node, scope: r.scope, hint: r.hint}
}

// requalify names every column of r qual.
func (r *rel) requalify(qual string) {
	r.scope = []span{{qual: qual, n: r.node.Schema().Len()}}
}

// joined returns the scope of r's columns followed by s's.
func joinedScope(r, s *rel) []span {
	out := append([]span(nil), r.scope...)
	w := r.node.Schema().Len()
	for _, sp := range s.scope {
		sp.from += w
		out = append(out, sp)
	}
	return out
}

// qualOf returns the qualifier of column i ("" when none names it).
func (r *rel) qualOf(i int) string {
	for _, sp := range r.scope {
		if i >= sp.from && i < sp.from+sp.n {
			return sp.qual
		}
	}
	return ""
}

// hasQual reports whether some FROM item of r is called qual.
func (r *rel) hasQual(qual string) bool {
	for _, sp := range r.scope {
		if sp.qual != "" && strings.EqualFold(sp.qual, qual) {
			return true
		}
	}
	return false
}

// fromDescription describes r's FROM items for an error message about a
// qualifier that is none of them.
func (r *rel) fromDescription() string {
	var names []string
	seen := map[string]bool{}
	for _, sp := range r.scope {
		if sp.qual != "" && !seen[strings.ToLower(sp.qual)] {
			seen[strings.ToLower(sp.qual)] = true
			names = append(names, "'"+sp.qual+"'")
		}
	}
	switch len(names) {
	case 0:
		return "the FROM clause has no name; give it an alias"
	case 1:
		return "the FROM clause is " + names[0]
	}
	return "the FROM clause names " + strings.Join(names, ", ")
}

// resolve finds the column of r a column reference names.
func (r *rel) resolve(b *binder, x *ast.ColumnNameExpr) (int, error) {
	n := x.Name
	if n.Schema.O != "" {
		return 0, b.errorf(x, "qualified names like %s.%s.%s are not supported", n.Schema.O, n.Table.O, n.Name.O)
	}
	t := n.Table.O
	if t != "" && !r.hasQual(t) {
		return 0, b.errorf(x, "unknown table '%s' in column reference %s.%s (%s)", t, t, n.Name.O, r.fromDescription())
	}
	schema := r.node.Schema()
	found := -1
	for i, f := range schema.Fields {
		if !strings.EqualFold(f.Name, n.Name.O) {
			continue
		}
		if t != "" && !strings.EqualFold(r.qualOf(i), t) {
			continue
		}
		if found >= 0 {
			if t == "" && len(r.scope) > 1 && r.qualOf(found) != r.qualOf(i) {
				return 0, b.errorf(x, "column '%s' is ambiguous: more than one FROM item has it; qualify it (%s)", n.Name.O, qualifiedChoices(r, n.Name.O))
			}
			return 0, b.errorf(x, "column '%s' is ambiguous: the FROM clause has more than one column of that name", n.Name.O)
		}
		found = i
	}
	if found < 0 {
		if b.aliases[n.Name.L] && b.clause != "SELECT" {
			return 0, b.errorf(x, "unknown column '%s' (a SELECT alias cannot be used in %s; repeat the expression)", n.Name.O, b.clause)
		}
		if r.hint != nil {
			if h := r.hint(n.Name.O); h != "" {
				return 0, b.errorf(x, "unknown column '%s': %s", n.Name.O, h)
			}
		}
		if t != "" {
			return 0, b.errorf(x, "unknown column '%s' in '%s'", n.Name.O, t)
		}
		return 0, b.errorf(x, "unknown column '%s'", n.Name.O)
	}
	return found, nil
}

// qualifiedChoices lists the qualified names of the columns of r called
// name, e.g. "a.id or b.id".
func qualifiedChoices(r *rel, name string) string {
	var out []string
	for i, f := range r.node.Schema().Fields {
		if strings.EqualFold(f.Name, name) {
			if q := r.qualOf(i); q != "" {
				out = append(out, fmt.Sprintf("%s.%s", q, f.Name))
			}
		}
	}
	if len(out) == 0 {
		return "give the FROM items aliases"
	}
	return strings.Join(out, " or ")
}

// starColumns returns the columns a * (qual "") or qual.* stands for.
func (r *rel) starColumns(qual string) []int {
	var out []int
	for i := range r.node.Schema().Fields {
		if qual == "" || strings.EqualFold(r.qualOf(i), qual) {
			out = append(out, i)
		}
	}
	return out
}
