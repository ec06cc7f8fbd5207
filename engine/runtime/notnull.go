package runtime

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// NotNullEnforcerOption is Flink's 'table.exec.sink.not-null-enforcer':
// what a sink does with a NULL in a NOT NULL column (a primary-key column,
// for one): "ERROR" (the default) fails the job, "DROP" drops the row and
// counts it in sink_null_records_dropped.
const NotNullEnforcerOption = "table.exec.sink.not-null-enforcer"

// notNullEnforcer checks a sink's NOT NULL columns.
type notNullEnforcer struct {
	table   string
	schema  types.Schema
	cols    []int // the NOT NULL columns
	drop    bool
	dropped operator.Counter
	mem     memory.Allocator
}

// newNotNullEnforcer reads the option from the job config; nil when the
// sink has no NOT NULL column.
func newNotNullEnforcer(table string, schema types.Schema, oc *operator.Context) (*notNullEnforcer, error) {
	e := &notNullEnforcer{table: table, schema: schema, mem: oc.Alloc}
	for i, f := range schema.Fields {
		if f.Type.NotNull {
			e.cols = append(e.cols, i)
		}
	}
	if len(e.cols) == 0 {
		return nil, nil
	}
	switch v := strings.ToUpper(strings.TrimSpace(oc.Config[NotNullEnforcerOption])); v {
	case "", "ERROR":
	case "DROP":
		e.drop = true
		if oc.Metrics != nil {
			e.dropped = oc.Metrics.Counter("sink_null_records_dropped", "Rows a sink dropped for a NULL in a NOT NULL column.")
		}
	default:
		return nil, fmt.Errorf("option '%s' = '%s': want 'ERROR' or 'DROP'", NotNullEnforcerOption, oc.Config[NotNullEnforcerOption])
	}
	if e.mem == nil {
		e.mem = memory.DefaultAllocator
	}
	return e, nil
}

// check returns b, or an error naming the column and row kind when a NOT
// NULL column holds a NULL; with DROP, a new batch of b's other rows, which
// the caller releases (b stays the caller's).
func (e *notNullEnforcer) check(b stream.Batch) (stream.Batch, error) {
	bad := false
	for _, c := range e.cols {
		if b.Record.Column(c).NullN() > 0 {
			bad = true
			break
		}
	}
	if !bad {
		return b, nil
	}
	n := b.NumRows()
	keep := make([]int32, 0, n)
	for i := 0; i < n; i++ {
		ok := true
		for _, c := range e.cols {
			if b.Record.Column(c).IsNull(i) {
				if !e.drop {
					return b, fmt.Errorf("table '%s': column '%s' is NOT NULL, but a %s row has a NULL in it; set '%s' = 'DROP' to drop such rows instead of failing",
						e.table, e.schema.Fields[c].Name, b.Kind(i), NotNullEnforcerOption)
				}
				ok = false
				break
			}
		}
		if ok {
			keep = append(keep, int32(i))
		}
	}
	if e.dropped != nil {
		e.dropped.Add(float64(n - len(keep)))
	}
	rec, err := expr.TakeRecord(b.Record, keep, e.mem)
	if err != nil {
		return b, err
	}
	var kinds []stream.RowKind
	if b.Kinds != nil {
		kinds = make([]stream.RowKind, len(keep))
		for j, i := range keep {
			kinds[j] = b.Kinds[i]
		}
	}
	return stream.Batch{Record: rec, Kinds: kinds}, nil
}
