package expr

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BenchmarkQ21Program measures Nexmark q21's calc, its WHERE and its CASE
// compiled as one Program, over q21-like bids (filter, then the projection
// on the kept rows), with common subexpressions computed once (cse) and
// every occurrence computed (separate, as before CSE).
func BenchmarkQ21Program(b *testing.B) {
	cols, schema := benchBids()
	project, filter := q21Exprs()
	for _, c := range []struct {
		name string
		opts compileOpts
	}{{"cse", compileOpts{}}, {"separate", compileOpts{noCSE: true}}} {
		b.Run(c.name, func(b *testing.B) {
			pg, err := compileProgram(filter, []*Expr{project}, schema, Env{}, c.opts)
			if err != nil {
				b.Fatal(err)
			}
			ctx := b.Context()
			mem := memory.NewGoAllocator()
			perCPU(b, benchRows, func() error {
				run := pg.Start(ctx, cols, benchRows, mem)
				defer run.Release()
				if _, err := run.Select(); err != nil {
					return err
				}
				out, err := run.Project(0)
				if err != nil {
					return err
				}
				out.Release()
				return nil
			})
		})
	}
}
