package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/engine/operators"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/planner"
)

// End-to-end reference tests for issue 4's updating operators: non-windowed
// GROUP BY (every aggregate, FILTER, HAVING, no keys, over an updating
// input, two-phase), Top-N (ROW_NUMBER, RANK, DENSE_RANK, with and without
// the rank column, over append and updating input), deduplication
// (keep-first and keep-last by event time), regular joins (INNER, LEFT,
// RIGHT, FULL with an extra condition, over append inputs and over
// aggregates), interval joins, lookup joins against a filesystem CSV table
// and event-time temporal joins against a changelog-json versioned table.
// Each job runs the whole path (SQL, planner, exchanges, operators) at
// parallelism 1 and 4 on random out-of-order data with NULLs and exact
// duplicate rows, in random batch sizes, into sinks with and without a
// PRIMARY KEY. Every sink's changelog is applied to a materialized table,
// checking each change against the table as it then is (materialize), and
// the final table is compared with a row-at-a-time reference
// (updating_ref_test.go).

// uEnv is one run's data: the rows of lt (dataset "a") and rt (dataset
// "b"), and the files of the lookup and temporal joins.
type uEnv struct {
	a, b     []wrow
	dir      string
	dim      []dimRow
	versions []version
}

// uSink is one sink table of a case: its primary key (nil: none), the
// query's unique key within its columns (for the retract checks; nil:
// none), whether its input must be append-only, and its reference.
type uSink struct {
	name       string
	pk         []int
	uniqueKey  []int
	appendOnly bool
	// updates says when the sink must see a -U, +U or -D: whenever
	// (always), at parallelism 1 (p1, where arrival order is the data's)
	// or not necessarily (""; e.g. a join's padding retractions depend on
	// how its two sources interleave).
	updates string
	ref     func(e *uEnv) []string
}

// uCase is one job.
type uCase struct {
	name string
	// small makes smaller inputs (joins, whose output grows with the
	// product of the inputs).
	small bool
	// setup writes the case's files into e.dir, if it has any.
	setup func(t *testing.T, r *rand.Rand, e *uEnv)
	sql   func(e *uEnv) string
	sinks []uSink
	// explain lists strings the job's EXPLAIN must contain.
	explain []string
	// updates is uSink.updates for the sinks that leave it empty.
	updates string
}

// sinkDDL declares a 'changelog' sink table.
func sinkDDL(name, columns, pk string) string {
	if pk != "" {
		columns += ", PRIMARY KEY (" + pk + ") NOT ENFORCED"
	}
	return fmt.Sprintf("CREATE TABLE %s (%s) WITH ('connector' = 'changelog');\n", name, columns)
}

// rowCols are the columns of a whole test row.
const rowCols = `k BIGINT, u BIGINT, v INT, amt BIGINT, ts TIMESTAMP(3)`

// byUFirst renders a whole row with u first (u, k, v, amt, ts).
func (w wrow) byUFirst() string {
	return joinVals(itoa64(w.U), w.key().String(), w.vText(), itoa64(w.Amt), itoa64(w.Ts))
}

func aggCase() uCase {
	return uCase{
		name: "group_agg", updates: "always",
		sql: func(*uEnv) string {
			return sinkDDL("out_r", "k BIGINT, "+aggCols, "") + sinkDDL("out_u", "u BIGINT, "+aggCols, "u") + `
INSERT INTO out_r SELECT k, ` + aggCalls + ` FROM lt GROUP BY k;
INSERT INTO out_u SELECT u, ` + aggCalls + ` FROM lt GROUP BY u;
`
		},
		sinks: []uSink{
			{name: "out_r", uniqueKey: []int{0}, ref: func(e *uEnv) []string { return refGroupAgg(e.a, byK, nil) }},
			{name: "out_u", pk: []int{0}, ref: func(e *uEnv) []string { return refGroupAgg(e.a, byU, nil) }},
		},
	}
}

func aggHavingCase() uCase {
	return uCase{
		name: "group_agg_having", updates: "always",
		sql: func(*uEnv) string {
			return sinkDDL("out_r", "k BIGINT, "+aggCols, "") + sinkDDL("out_u", "u BIGINT, "+aggCols, "u") + `
INSERT INTO out_r SELECT k, ` + aggCalls + ` FROM lt GROUP BY k HAVING SUM(v) > 0;
INSERT INTO out_u SELECT u, ` + aggCalls + ` FROM lt GROUP BY u HAVING SUM(v) > 0;
`
		},
		sinks: []uSink{
			{name: "out_r", uniqueKey: []int{0}, ref: func(e *uEnv) []string { return refGroupAgg(e.a, byK, havingSumV) }},
			{name: "out_u", pk: []int{0}, ref: func(e *uEnv) []string { return refGroupAgg(e.a, byU, havingSumV) }},
		},
	}
}

func aggGlobalCase() uCase {
	return uCase{
		name: "group_agg_global", updates: "always",
		sql: func(*uEnv) string {
			return sinkDDL("out_r", "n BIGINT, total BIGINT, lo INT, hi INT, avg_amt BIGINT, ks BIGINT", "") + `
INSERT INTO out_r SELECT COUNT(*), SUM(amt), MIN(v), MAX(v), AVG(amt), COUNT(DISTINCT k) FROM lt;
`
		},
		sinks: []uSink{{name: "out_r", uniqueKey: []int{}, ref: func(e *uEnv) []string { return refGlobalAgg(e.a) }}},
	}
}

const overAggCols = "hi BIGINT, lo BIGINT, n BIGINT, groups_n BIGINT, nsv BIGINT"

func aggOverAggCase() uCase {
	return uCase{
		name: "group_agg_over_group_agg", updates: "always",
		sql: func(*uEnv) string {
			return `CREATE VIEW per_ku AS SELECT k, u, SUM(v) AS sv, COUNT(*) AS n FROM lt GROUP BY k, u;
` + sinkDDL("out_r", "k BIGINT, "+overAggCols, "") + sinkDDL("out_u", "u BIGINT, "+overAggCols, "u") + `
INSERT INTO out_r SELECT k, MAX(sv), MIN(sv), SUM(n), COUNT(*), COUNT(sv) FROM per_ku GROUP BY k;
INSERT INTO out_u SELECT u, MAX(sv), MIN(sv), SUM(n), COUNT(*), COUNT(sv) FROM per_ku GROUP BY u;
`
		},
		sinks: []uSink{
			{name: "out_r", uniqueKey: []int{0}, ref: func(e *uEnv) []string {
				return refAggOverAgg(refInnerKU(e.a), func(g *kuGroup) string { return g.k.String() })
			}},
			{name: "out_u", pk: []int{0}, ref: func(e *uEnv) []string {
				return refAggOverAgg(refInnerKU(e.a), func(g *kuGroup) string { return itoa64(g.u) })
			}},
		},
	}
}

func aggOverDedupCase() uCase {
	return uCase{
		name: "group_agg_over_dedup_last", updates: "always",
		sql: func(*uEnv) string {
			return `CREATE VIEW last_per_u AS
SELECT k, u, v, amt FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY u ORDER BY ts DESC) AS rn FROM lt) WHERE rn = 1;
` + sinkDDL("out_r", "k BIGINT, n BIGINT, total BIGINT, lo BIGINT, hi INT, sv INT, avg_v INT, dv BIGINT, big_n BIGINT", "") + `
INSERT INTO out_r SELECT k, COUNT(*), SUM(amt), MIN(amt), MAX(v), SUM(v), AVG(v), COUNT(DISTINCT v),
  COUNT(*) FILTER (WHERE amt >= 150)
FROM last_per_u GROUP BY k;
`
		},
		sinks: []uSink{{name: "out_r", uniqueKey: []int{0}, ref: func(e *uEnv) []string { return refAggOverDedup(e.a) }}},
	}
}

// twoPhaseCalls are the calls a two-phase aggregation can split.
// (AVG of an INT does not split: the planner then keeps one phase.)
const twoPhaseCalls = `COUNT(*), COUNT(v), SUM(amt), MIN(v), MAX(amt), AVG(amt), SUM(amt) FILTER (WHERE v > 2)`
const twoPhaseCols = `n BIGINT, nv BIGINT, total BIGINT, lo INT, hi BIGINT, avg_amt BIGINT, big_total BIGINT`

// refTwoPhase is twoPhaseCalls grouped by key.
func refTwoPhase(rows []wrow, key func(wrow) string) []string {
	var out []string
	for k, ws := range groupBy(rows, key) {
		var a aggAcc
		for _, w := range ws {
			a.add(w)
		}
		c := cols(a.render())
		out = append(out, joinVals(k, c[0], c[1], c[2], c[3], c[4], itoa64(a.total/a.n), c[7]))
	}
	return out
}

func aggTwoPhaseCase() uCase {
	return uCase{
		name: "group_agg_two_phase", updates: "always",
		sql: func(*uEnv) string {
			return `SET 'table.optimizer.agg-phase-strategy' = 'TWO_PHASE';
` + sinkDDL("out_r", "k BIGINT, "+twoPhaseCols, "") + sinkDDL("out_u", "u BIGINT, "+twoPhaseCols, "u") +
				sinkDDL("out_full", "k BIGINT, "+aggCols, "") + `
INSERT INTO out_r SELECT k, ` + twoPhaseCalls + ` FROM lt GROUP BY k;
INSERT INTO out_u SELECT u, ` + twoPhaseCalls + ` FROM lt GROUP BY u;
INSERT INTO out_full SELECT k, ` + aggCalls + ` FROM lt GROUP BY k;
`
		},
		sinks: []uSink{
			{name: "out_r", uniqueKey: []int{0}, ref: func(e *uEnv) []string { return refTwoPhase(e.a, byK) }},
			{name: "out_u", pk: []int{0}, ref: func(e *uEnv) []string { return refTwoPhase(e.a, byU) }},
			{name: "out_full", uniqueKey: []int{0}, ref: func(e *uEnv) []string { return refGroupAgg(e.a, byK, nil) }},
		},
		explain: []string{"phase: local"},
	}
}

// splitRow renders a row's columns as a slice.
func splitRow(s string) []string { return cols(s) }

func aggSplitDistinctCase() uCase {
	return uCase{
		name: "group_agg_split_distinct", updates: "always",
		sql: func(*uEnv) string {
			return `SET 'table.optimizer.distinct-agg.split.enabled' = 'true';
SET 'table.optimizer.distinct-agg.split.bucket-num' = '4';
` + sinkDDL("out_r", "k BIGINT, "+twoPhaseCols+", users BIGINT", "") + sinkDDL("out_u", "u BIGINT, "+twoPhaseCols+", ks BIGINT", "u") + `
INSERT INTO out_r SELECT k, ` + twoPhaseCalls + `, COUNT(DISTINCT u) FROM lt GROUP BY k;
INSERT INTO out_u SELECT u, ` + twoPhaseCalls + `, COUNT(DISTINCT k) FROM lt GROUP BY u;
`
		},
		sinks: []uSink{
			{name: "out_r", uniqueKey: []int{0}, ref: func(e *uEnv) []string {
				return withDistinct(refTwoPhase(e.a, byK), e.a, byK, func(w wrow) (string, bool) { return itoa64(w.U), true })
			}},
			{name: "out_u", pk: []int{0}, ref: func(e *uEnv) []string {
				return withDistinct(refTwoPhase(e.a, byU), e.a, byU, func(w wrow) (string, bool) { return w.key().String(), !w.KNull })
			}},
		},
		explain: []string{"$bucket"},
	}
}

// withDistinct appends to each reference row (its group key first) the
// group's number of distinct non-NULL values of val.
func withDistinct(rows []string, data []wrow, key func(wrow) string, val func(wrow) (string, bool)) []string {
	distinct := map[string]map[string]bool{}
	for _, w := range data {
		k := key(w)
		if distinct[k] == nil {
			distinct[k] = map[string]bool{}
		}
		if v, ok := val(w); ok {
			distinct[k][v] = true
		}
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r + "|" + strconv.Itoa(len(distinct[cols(r)[0]]))
	}
	return out
}

func topNRowNumberCase() uCase {
	return uCase{
		name: "topn_row_number", updates: "always",
		sql: func(*uEnv) string {
			return sinkDDL("out_r", "k BIGINT, rn BIGINT, u BIGINT, v INT, amt BIGINT, ts TIMESTAMP(3)", "") +
				sinkDDL("out_u", "u BIGINT, rn BIGINT, k BIGINT, v INT, amt BIGINT, ts TIMESTAMP(3)", "u, rn") +
				sinkDDL("out_norank", rowCols, "") + `
INSERT INTO out_r SELECT k, rn, u, v, amt, ts FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY amt DESC, ts) AS rn FROM lt) WHERE rn <= 3;
INSERT INTO out_u SELECT u, rn, k, v, amt, ts FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY u ORDER BY amt DESC, ts) AS rn FROM lt) WHERE rn <= 3;
INSERT INTO out_norank SELECT k, u, v, amt, ts FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY amt DESC, ts ASC) AS rn FROM lt) WHERE rn < 4;
`
		},
		sinks: []uSink{
			{name: "out_r", uniqueKey: []int{0, 1}, ref: func(e *uEnv) []string {
				return refTopN(e.a, byK, func(w wrow) []string { return splitRow(w.full()) }, cmpAmtDescTs, "row_number", 3, 1)
			}},
			{name: "out_u", pk: []int{0, 1}, ref: func(e *uEnv) []string {
				return refTopN(e.a, byU, func(w wrow) []string { return splitRow(w.byUFirst()) }, cmpAmtDescTs, "row_number", 3, 1)
			}},
			{name: "out_norank", ref: func(e *uEnv) []string {
				return refTopN(e.a, byK, func(w wrow) []string { return splitRow(w.full()) }, cmpAmtDescTs, "row_number", 3, -1)
			}},
		},
	}
}

func topNRankCase() uCase {
	byAmtDesc := func(a, b wrow) int { return cmpInt(b.Amt, a.Amt) }
	return uCase{
		name: "topn_rank_dense_rank", updates: "always",
		sql: func(*uEnv) string {
			return sinkDDL("out_rank", "k BIGINT, rnk BIGINT, u BIGINT, v INT, amt BIGINT, ts TIMESTAMP(3)", "") +
				sinkDDL("out_rank_norank", rowCols, "") +
				sinkDDL("out_dense", "k BIGINT, rnk BIGINT, u BIGINT, v INT, amt BIGINT, ts TIMESTAMP(3)", "") +
				sinkDDL("out_dense_norank", rowCols, "") + `
INSERT INTO out_rank SELECT k, rnk, u, v, amt, ts FROM (
  SELECT *, RANK() OVER (PARTITION BY k ORDER BY amt DESC) AS rnk FROM lt) WHERE rnk <= 3;
INSERT INTO out_rank_norank SELECT k, u, v, amt, ts FROM (
  SELECT *, RANK() OVER (PARTITION BY k ORDER BY amt DESC) AS rnk FROM lt) WHERE rnk <= 3;
INSERT INTO out_dense SELECT k, rnk, u, v, amt, ts FROM (
  SELECT *, DENSE_RANK() OVER (PARTITION BY k ORDER BY v DESC NULLS LAST) AS rnk FROM lt) WHERE rnk <= 2;
INSERT INTO out_dense_norank SELECT k, u, v, amt, ts FROM (
  SELECT *, DENSE_RANK() OVER (PARTITION BY k ORDER BY v DESC NULLS LAST) AS rnk FROM lt) WHERE rnk <= 2;
`
		},
		sinks: []uSink{
			{name: "out_rank", ref: func(e *uEnv) []string {
				return refTopN(e.a, byK, func(w wrow) []string { return splitRow(w.full()) }, byAmtDesc, "rank", 3, 1)
			}},
			{name: "out_rank_norank", ref: func(e *uEnv) []string {
				return refTopN(e.a, byK, func(w wrow) []string { return splitRow(w.full()) }, byAmtDesc, "rank", 3, -1)
			}},
			{name: "out_dense", ref: func(e *uEnv) []string {
				return refTopN(e.a, byK, func(w wrow) []string { return splitRow(w.full()) }, cmpVDescNullsLast, "dense_rank", 2, 1)
			}},
			{name: "out_dense_norank", ref: func(e *uEnv) []string {
				return refTopN(e.a, byK, func(w wrow) []string { return splitRow(w.full()) }, cmpVDescNullsLast, "dense_rank", 2, -1)
			}},
		},
	}
}

func topNOverAggCase() uCase {
	// ORDER BY total DESC, then the other key ascending, NULLS LAST.
	byTotal := func(other func(*kuGroup) nk) func(a, b *kuGroup) int {
		return func(a, b *kuGroup) int {
			if c := cmpInt(b.total, a.total); c != 0 {
				return c
			}
			x, y := other(a), other(b)
			switch {
			case x.null && y.null:
				return 0
			case x.null:
				return 1
			case y.null:
				return -1
			}
			return cmpInt(x.v, y.v)
		}
	}
	kOf := func(g *kuGroup) nk { return g.k }
	uOf := func(g *kuGroup) nk { return nk{v: g.u} }
	return uCase{
		name: "topn_over_group_agg", updates: "always",
		sql: func(*uEnv) string {
			return `CREATE VIEW per_uk AS SELECT u, k, SUM(amt) AS total FROM lt GROUP BY u, k;
CREATE VIEW per_k AS SELECT k, SUM(amt) AS total, COUNT(*) AS n FROM lt GROUP BY k;
` + sinkDDL("out_u", "u BIGINT, rn BIGINT, k BIGINT, total BIGINT", "u, rn") +
				sinkDDL("out_top", "rn BIGINT, k BIGINT, total BIGINT, n BIGINT", "rn") +
				sinkDDL("out_r", "k BIGINT, u BIGINT, total BIGINT", "") +
				sinkDDL("out_sv", "k BIGINT, rn BIGINT, u BIGINT, sv INT", "") +
				sinkDDL("out_sv_rank", "k BIGINT, rnk BIGINT, u BIGINT, sv INT", "") + `
CREATE VIEW per_ku AS SELECT k, u, SUM(v) AS sv FROM lt GROUP BY k, u;
INSERT INTO out_sv SELECT k, rn, u, sv FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY sv DESC NULLS LAST, u) AS rn FROM per_ku) WHERE rn <= 2;
INSERT INTO out_sv_rank SELECT k, rnk, u, sv FROM (
  SELECT *, RANK() OVER (PARTITION BY k ORDER BY sv DESC NULLS LAST) AS rnk FROM per_ku) WHERE rnk <= 2;
INSERT INTO out_u SELECT u, rn, k, total FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY u ORDER BY total DESC, k ASC NULLS LAST) AS rn FROM per_uk) WHERE rn <= 2;
INSERT INTO out_top SELECT rn, k, total, n FROM (
  SELECT *, ROW_NUMBER() OVER (ORDER BY total DESC, k ASC NULLS LAST) AS rn FROM per_k) WHERE rn <= 3;
INSERT INTO out_r SELECT k, u, total FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY total DESC, u) AS rn FROM per_uk) WHERE rn <= 3;
`
		},
		sinks: []uSink{
			{name: "out_u", pk: []int{0, 1}, ref: func(e *uEnv) []string {
				return refTopN(refInnerKU(e.a), func(g *kuGroup) string { return itoa64(g.u) },
					func(g *kuGroup) []string { return []string{itoa64(g.u), g.k.String(), itoa64(g.total)} }, byTotal(kOf), "row_number", 2, 1)
			}},
			{name: "out_top", pk: []int{0}, ref: func(e *uEnv) []string {
				// per_k is the (k, u) groups summed per k.
				per := map[nk]*kuGroup{}
				var gs []*kuGroup
				for _, g := range refInnerKU(e.a) {
					p := per[g.k]
					if p == nil {
						p = &kuGroup{k: g.k}
						per[g.k] = p
						gs = append(gs, p)
					}
					p.total += g.total
					p.n += g.n
				}
				return refTopN(gs, func(*kuGroup) string { return "" },
					func(g *kuGroup) []string { return []string{g.k.String(), itoa64(g.total), itoa64(g.n)} }, byTotal(kOf), "row_number", 3, 0)
			}},
			{name: "out_sv", uniqueKey: []int{0, 1}, ref: func(e *uEnv) []string {
				return refTopN(refInnerKU(e.a), func(g *kuGroup) string { return g.k.String() },
					func(g *kuGroup) []string { return []string{g.k.String(), itoa64(g.u), optI64(g.sv, g.anySV)} }, bySV(true), "row_number", 2, 1)
			}},
			{name: "out_sv_rank", ref: func(e *uEnv) []string {
				return refTopN(refInnerKU(e.a), func(g *kuGroup) string { return g.k.String() },
					func(g *kuGroup) []string { return []string{g.k.String(), itoa64(g.u), optI64(g.sv, g.anySV)} }, bySV(false), "rank", 2, 1)
			}},
			{name: "out_r", ref: func(e *uEnv) []string {
				return refTopN(refInnerKU(e.a), func(g *kuGroup) string { return g.k.String() },
					func(g *kuGroup) []string { return []string{g.k.String(), itoa64(g.u), itoa64(g.total)} }, byTotal(uOf), "row_number", 3, -1)
			}},
		},
	}
}

func dedupCase() uCase {
	uFirst := "u BIGINT, k BIGINT, v INT, amt BIGINT, ts TIMESTAMP(3)"
	q := func(sink, cols, part, dir string) string {
		return fmt.Sprintf(`INSERT INTO %s SELECT %s FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY %s ORDER BY ts %s) AS rn FROM lt) WHERE rn = 1;
`, sink, cols, part, dir)
	}
	byUFirst := func(rows []wrow, last bool) []string {
		var out []string
		for _, w := range dedupRows(rows, byU, last) {
			out = append(out, w.byUFirst())
		}
		return out
	}
	return uCase{
		name: "dedup",
		sql: func(*uEnv) string {
			// out_first_r partitions by key and second, so partitions
			// have rows close in time that arrive out of order: the
			// keep-first row changes when an earlier row comes late.
			return sinkDDL("out_first_r", "k BIGINT, sec TIMESTAMP(3), u BIGINT, v INT, amt BIGINT, ts TIMESTAMP(3)", "") + sinkDDL("out_first_u", uFirst, "u") +
				sinkDDL("out_last_r", rowCols, "") + sinkDDL("out_last_u", uFirst, "u") +
				`INSERT INTO out_first_r SELECT k, sec, u, v, amt, ts FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY k, sec ORDER BY ts ASC) AS rn
  FROM (SELECT k, u, v, amt, ts, FLOOR(ts TO SECOND) AS sec FROM lt)) WHERE rn = 1;
` + q("out_first_u", "u, k, v, amt, ts", "u", "") +
				q("out_last_r", "k, u, v, amt, ts", "k", "DESC") + q("out_last_u", "u, k, v, amt, ts", "u", "DESC")
		},
		sinks: []uSink{
			{name: "out_first_r", uniqueKey: []int{0, 1}, updates: "always", ref: func(e *uEnv) []string {
				var out []string
				for _, w := range dedupRows(e.a, bySecond, false) {
					out = append(out, joinVals(w.key().String(), itoa64(w.Ts-w.Ts%1000), itoa64(w.U), w.vText(), itoa64(w.Amt), itoa64(w.Ts)))
				}
				return out
			}},
			{name: "out_first_u", pk: []int{0}, ref: func(e *uEnv) []string { return byUFirst(e.a, false) }},
			{name: "out_last_r", uniqueKey: []int{0}, updates: "always", ref: func(e *uEnv) []string { return refDedup(e.a, byK, true) }},
			{name: "out_last_u", pk: []int{0}, updates: "always", ref: func(e *uEnv) []string { return byUFirst(e.a, true) }},
		},
	}
}

var joinTypes = []string{"INNER", "LEFT", "RIGHT", "FULL"}

func joinCase() uCase {
	c := uCase{name: "join", small: true}
	c.sql = func(*uEnv) string {
		var sb strings.Builder
		for _, how := range joinTypes {
			sb.WriteString(sinkDDL("out_"+strings.ToLower(how), "ak BIGINT, au BIGINT, av INT, aamt BIGINT, ats TIMESTAMP(3), bk BIGINT, bu BIGINT, bv INT, bamt BIGINT, bts TIMESTAMP(3)", ""))
			fmt.Fprintf(&sb, `INSERT INTO out_%s SELECT A.k, A.u, A.v, A.amt, A.ts, B.k, B.u, B.v, B.amt, B.ts
FROM lt A %s JOIN rt B ON A.k = B.k AND A.u = B.u AND A.v < B.v;
`, strings.ToLower(how), how)
		}
		return sb.String()
	}
	for _, how := range joinTypes {
		c.sinks = append(c.sinks, uSink{name: "out_" + strings.ToLower(how), appendOnly: how == "INNER",
			ref: func(e *uEnv) []string { return refJoin(e.a, e.b, how) }})
	}
	return c
}

func joinAggsCase() uCase {
	c := uCase{name: "join_over_group_aggs"}
	c.sql = func(*uEnv) string {
		var sb strings.Builder
		sb.WriteString(`CREATE VIEW la AS SELECT k, COUNT(*) AS n, SUM(amt) AS total FROM lt GROUP BY k;
CREATE VIEW ra AS SELECT k, COUNT(*) AS n, MAX(v) AS hi FROM rt GROUP BY k;
`)
		for _, how := range joinTypes {
			sb.WriteString(sinkDDL("out_"+strings.ToLower(how), "lk BIGINT, ln BIGINT, ltotal BIGINT, rk BIGINT, rn BIGINT, rhi INT", ""))
			fmt.Fprintf(&sb, `INSERT INTO out_%s SELECT la.k, la.n, la.total, ra.k, ra.n, ra.hi
FROM la %s JOIN ra ON la.k = ra.k AND la.n > ra.n;
`, strings.ToLower(how), how)
		}
		return sb.String()
	}
	for _, how := range joinTypes {
		c.sinks = append(c.sinks, uSink{name: "out_" + strings.ToLower(how), ref: func(e *uEnv) []string { return refJoinAggs(e.a, e.b, how) }})
	}
	return c
}

func joinDedupCase() uCase {
	c := uCase{name: "join_over_dedup", small: true}
	c.sql = func(*uEnv) string {
		var sb strings.Builder
		sb.WriteString(`CREATE VIEW last_per_u AS
SELECT k, u, v, amt, ts FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY u ORDER BY ts DESC) AS rn FROM lt) WHERE rn = 1;
`)
		for _, how := range joinTypes {
			sb.WriteString(sinkDDL("out_"+strings.ToLower(how), "ak BIGINT, au BIGINT, av INT, aamt BIGINT, ats TIMESTAMP(3), bk BIGINT, bu BIGINT, bv INT, bamt BIGINT, bts TIMESTAMP(3)", ""))
			fmt.Fprintf(&sb, `INSERT INTO out_%s SELECT A.k, A.u, A.v, A.amt, A.ts, B.k, B.u, B.v, B.amt, B.ts
FROM last_per_u A %s JOIN rt B ON A.k = B.k AND A.u = B.u AND A.v < B.v;
`, strings.ToLower(how), how)
		}
		return sb.String()
	}
	for _, how := range joinTypes {
		c.sinks = append(c.sinks, uSink{name: "out_" + strings.ToLower(how), ref: func(e *uEnv) []string {
			var last []wrow
			for _, w := range dedupRows(e.a, byU, true) {
				last = append(last, w)
			}
			return refJoin(last, e.b, how)
		}})
	}
	return c
}

func intervalJoinCase() uCase {
	c := uCase{name: "interval_join", small: true}
	c.sql = func(*uEnv) string {
		var sb strings.Builder
		for _, how := range joinTypes {
			residual := ""
			if how == "INNER" {
				residual = " AND A.v <> B.v"
			}
			sb.WriteString(sinkDDL("out_"+strings.ToLower(how), "ak BIGINT, au BIGINT, ats TIMESTAMP(3), bk BIGINT, bu BIGINT, bts TIMESTAMP(3)", ""))
			fmt.Fprintf(&sb, `INSERT INTO out_%s SELECT A.k, A.u, A.ts, B.k, B.u, B.ts
FROM lt A %s JOIN rt B ON A.k = B.k AND A.ts BETWEEN B.ts - INTERVAL '1' SECOND AND B.ts + INTERVAL '0.5' SECOND%s;
`, strings.ToLower(how), how, residual)
		}
		return sb.String()
	}
	for _, how := range joinTypes {
		c.sinks = append(c.sinks, uSink{name: "out_" + strings.ToLower(how), appendOnly: true,
			ref: func(e *uEnv) []string { return refIntervalJoin(e.a, e.b, how, how == "INNER") }})
	}
	return c
}

// writeDim writes the lookup join's dimension table as CSV: ids 0..keys+1
// with some missing and some repeated, some NULL weights.
func writeDim(t *testing.T, r *rand.Rand, e *uEnv) {
	keys := int64(0)
	for _, w := range e.a {
		keys = max(keys, w.K)
	}
	var sb strings.Builder
	for id := int64(0); id <= keys+1; id++ {
		copies := []int{0, 1, 1, 1, 2}[r.IntN(5)]
		if id == 1 {
			copies = max(copies, 1)
		}
		for c := range copies {
			d := dimRow{id: id, name: fmt.Sprintf("name-%d-%d", id, r.IntN(100)), weight: int32(r.IntN(6)), wNull: r.IntN(8) == 0}
			if id == 1 && c == 0 {
				d.weight, d.wNull = 5, false // the hottest key matches
			}
			e.dim = append(e.dim, d)
			wt := strconv.Itoa(int(d.weight))
			if d.wNull {
				wt = ""
			}
			fmt.Fprintf(&sb, "%d,%s,%s\n", d.id, d.name, wt)
		}
	}
	if err := os.WriteFile(filepath.Join(e.dir, "dim.csv"), []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func lookupJoinCase() uCase {
	return uCase{
		name:  "lookup_join",
		setup: writeDim,
		sql: func(e *uEnv) string {
			return fmt.Sprintf(`CREATE TABLE lp (
  k BIGINT, u BIGINT, v INT, amt BIGINT, ts TIMESTAMP(3), pt AS PROCTIME(),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'memory', 'dataset' = 'a');
CREATE TABLE dim (id BIGINT, name STRING, weight INT) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
`, filepath.Join(e.dir, "dim.csv")) +
				sinkDDL("out_inner", "k BIGINT, u BIGINT, amt BIGINT, name STRING, weight INT", "") +
				sinkDDL("out_left", "k BIGINT, u BIGINT, amt BIGINT, name STRING, weight INT", "") + `
INSERT INTO out_inner SELECT A.k, A.u, A.amt, D.name, D.weight
FROM lp AS A JOIN dim FOR SYSTEM_TIME AS OF A.pt AS D ON A.k = D.id AND D.weight > 2;
INSERT INTO out_left SELECT A.k, A.u, A.amt, D.name, D.weight
FROM lp AS A LEFT JOIN dim FOR SYSTEM_TIME AS OF A.pt AS D ON A.k = D.id AND D.weight > 2;
`
		},
		sinks: []uSink{
			{name: "out_inner", appendOnly: true, ref: func(e *uEnv) []string { return refLookupJoin(e.a, e.dim, false) }},
			{name: "out_left", appendOnly: true, ref: func(e *uEnv) []string { return refLookupJoin(e.a, e.dim, true) }},
		},
	}
}

// tsText renders ms as the json format's TIMESTAMP(3).
func tsText(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000") }

// writeVersions writes the temporal join's versioned table: a changelog
// (+I, +U, -D, by id) per id over the time span of e.a, in two
// changelog-json part files (even and odd ids), each in time order but
// for a disorder within the watermark delay, a key's changes in time
// order.
func writeVersions(t *testing.T, r *rand.Rand, e *uEnv) {
	lo, hi, keys := e.a[0].Ts, e.a[0].Ts, int64(0)
	for _, w := range e.a {
		lo, hi, keys = min(lo, w.Ts), max(hi, w.Ts), max(keys, w.K)
	}
	var files [2][]version
	for id := int64(0); id <= keys+1; id++ {
		n := 1 + r.IntN(12)
		ts := lo - 3000 + r.Int64N(3000)
		live := false
		for range n {
			v := version{id: id, ts: ts, rate: int32(r.IntN(100))}
			switch {
			case !live:
				v.op, live = "+I", true
			case r.IntN(5) == 0:
				v.op, v.deleted, live = "-D", true, false
			default:
				v.op = "+U"
			}
			files[id%2] = append(files[id%2], v)
			e.versions = append(e.versions, v)
			ts += 1 + r.Int64N(2*(hi-lo+3000)/int64(n))
		}
	}
	for f, vs := range files {
		// Order by time, then move rows back a little (within 1.5 s),
		// never past an earlier change of their own key.
		sortVersions(vs)
		for i := 1; i < len(vs); i++ {
			for j := i; j > 0 && vs[j-1].id != vs[j].id && vs[j-1].ts-vs[j].ts < 1500 && r.IntN(3) == 0; j-- {
				vs[j-1], vs[j] = vs[j], vs[j-1]
			}
		}
		var sb strings.Builder
		last := map[int64]int32{}
		for _, v := range vs {
			rate := v.rate
			if v.deleted {
				rate = last[v.id] // a -D carries the deleted row
			}
			last[v.id] = rate
			fmt.Fprintf(&sb, `{"id":%d,"rate":%d,"vts":"%s","op":"%s"}`+"\n", v.id, rate, tsText(v.ts), v.op)
		}
		name := filepath.Join(e.dir, "rates", fmt.Sprintf("part-%d-0000000000.json", f))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func sortVersions(vs []version) {
	for i := 1; i < len(vs); i++ {
		for j := i; j > 0 && vs[j].ts < vs[j-1].ts; j-- {
			vs[j-1], vs[j] = vs[j], vs[j-1]
		}
	}
}

func temporalJoinCase() uCase {
	return uCase{
		name:  "temporal_join",
		setup: writeVersions,
		sql: func(e *uEnv) string {
			return fmt.Sprintf(`CREATE TABLE rates (
  id BIGINT, rate INT, vts TIMESTAMP(3),
  PRIMARY KEY (id) NOT ENFORCED,
  WATERMARK FOR vts AS vts - INTERVAL '2' SECOND
) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'changelog-json');
`, filepath.Join(e.dir, "rates")) +
				sinkDDL("out_inner", "k BIGINT, u BIGINT, ts TIMESTAMP(3), rate INT, vts TIMESTAMP(3)", "") +
				sinkDDL("out_left", "k BIGINT, u BIGINT, ts TIMESTAMP(3), rate INT, vts TIMESTAMP(3)", "") + `
INSERT INTO out_inner SELECT A.k, A.u, A.ts, R.rate, R.vts
FROM lt AS A JOIN rates FOR SYSTEM_TIME AS OF A.ts AS R ON A.k = R.id;
INSERT INTO out_left SELECT A.k, A.u, A.ts, R.rate, R.vts
FROM lt AS A LEFT JOIN rates FOR SYSTEM_TIME AS OF A.ts AS R ON A.k = R.id;
`
		},
		sinks: []uSink{
			{name: "out_inner", appendOnly: true, ref: func(e *uEnv) []string { return refTemporalJoin(e.a, e.versions, false) }},
			{name: "out_left", appendOnly: true, ref: func(e *uEnv) []string { return refTemporalJoin(e.a, e.versions, true) }},
		},
	}
}

// uCases lists the updating jobs.
func uCases() []uCase {
	return []uCase{
		aggCase(), aggHavingCase(), aggGlobalCase(), aggOverAggCase(), aggOverDedupCase(), aggTwoPhaseCase(), aggSplitDistinctCase(),
		topNRowNumberCase(), topNRankCase(), topNOverAggCase(),
		dedupCase(),
		joinCase(), joinAggsCase(), joinDedupCase(), intervalJoinCase(), lookupJoinCase(), temporalJoinCase(),
	}
}

// TestUpdatingQueriesMatchReference runs every updating job at parallelism
// 1 and 4, two seeds each, and checks every sink's changelog against its
// reference.
func TestUpdatingQueriesMatchReference(t *testing.T) {
	seeds := []uint64{1, 2}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, c := range uCases() {
		for _, p := range []int{1, 4} {
			for _, s := range seeds {
				seed := s*1_000_003 + uint64(p)*7 + uint64(len(c.name)*31)
				t.Run(fmt.Sprintf("%s/p%d/seed%d", c.name, p, seed), func(t *testing.T) {
					runUpdatingCase(t, c, p, seed)
				})
			}
		}
	}
}

// TestUpdatingQueriesSpillToPebble runs every updating job at parallelism
// 2 over many more keys, with keyed state in Pebble ('state.backend.type'
// = 'pebble') and a state cache of 16 keys per operator subtask, so the
// updating operators (group_agg, rank, dedup, join) move state out of
// memory and read it back all the time; every sink's changelog must still
// equal its reference.
func TestUpdatingQueriesSpillToPebble(t *testing.T) {
	// Jobs whose updating operators hold few keys whatever the input.
	noSpill := map[string]bool{"group_agg_global": true}
	const prefix = "SET 'state.backend.type' = 'pebble';\nSET 'table.exec.state.cache-size' = '16';\n"
	for _, c := range uCases() {
		seed := uint64(len(c.name)*131 + 5)
		t.Run(c.name, func(t *testing.T) {
			res := runUpdatingCaseWith(t, c, 2, seed, 80, prefix)
			evicted := map[string]int64{}
			for _, op := range res.Operators {
				evicted[op.Kind] += op.Counters["state_cache_evicted"]
				if n := op.Counters["state_cache_evicted"]; n > 0 && op.Counters["state_cache_loaded"] == 0 {
					t.Errorf("%s %s evicted %d keys but never read one back", op.Kind, op.OperatorID, n)
				}
			}
			t.Logf("keys evicted per operator kind: %v", evicted)
			total, updating := int64(0), false
			for kind, n := range evicted {
				switch kind {
				case "group_agg", "rank", "dedup", "join":
					total += n
					updating = true
				}
			}
			if updating && total == 0 && !noSpill[c.name] {
				t.Errorf("no updating operator evicted state: the test exercised no spilling")
			}
		})
	}
}

func runUpdatingCase(t *testing.T, c uCase, p int, seed uint64) {
	runUpdatingCaseWith(t, c, p, seed, 0, "")
}

// runUpdatingCaseWith runs c over minKeys or more distinct keys (0: a
// few), with the statements of prefix before the job's.
func runUpdatingCaseWith(t *testing.T, c uCase, p int, seed uint64, minKeys int, prefix string) *runtime.Result {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(seed, 23))
	keys := minKeys + 2 + r.IntN(10)
	n := 600 + r.IntN(1400)
	if c.small {
		n = 300 + r.IntN(600)
	}
	e := &uEnv{
		a:   withDuplicates(r, genWRows(r, n, keys, wDelayMs-1)),
		b:   withDuplicates(r, genWRows(r, n, keys, wDelayMs-1)),
		dir: t.TempDir(),
	}
	if c.setup != nil {
		c.setup(t, r, e)
	}
	recA, recB := wRecord(mem, e.a), wRecord(mem, e.b)
	defer recA.Release()
	defer recB.Release()
	script := prefix + wTableDDL("lt", "a") + wTableDDL("rt", "b") + c.sql(e)
	tables, explain, res := runUpdatingSQL(t, script, p, map[string]arrow.RecordBatch{"a": recA, "b": recB}, seed, mem)
	for _, s := range c.explain {
		if !strings.Contains(explain, s) {
			t.Errorf("EXPLAIN lacks %q:\n%s", s, explain)
		}
	}
	if res.LateRecordsDropped != 0 {
		t.Errorf("late records dropped = %d, want 0 (disorder is within the watermark delay)", res.LateRecordsDropped)
	}
	updated := 0
	for _, s := range c.sinks {
		tb := tables[s.name]
		if tb == nil {
			tb = &changelogTable{} // a sink that received nothing
		}
		want := s.ref(e)
		if len(want) == 0 {
			t.Fatalf("sink %s: reference is empty: test data is broken", s.name)
		}
		if s.appendOnly {
			for i, ch := range tb.changes {
				if ch.kind != "+I" {
					t.Errorf("sink %s: change #%d is %s|%s, but the query is append-only", s.name, i, ch.kind, ch.row)
					break
				}
			}
		}
		kinds := map[string]int{}
		for _, ch := range tb.changes {
			kinds[ch.kind]++
		}
		must := s.updates
		if must == "" && !s.appendOnly {
			must = c.updates
		}
		if kinds["-U"]+kinds["+U"]+kinds["-D"] == 0 && (must == "always" || must == "p1" && p == 1) {
			t.Errorf("sink %s: %d changes, all +I: the job exercised no update", s.name, len(tb.changes))
		}
		updated += kinds["-U"] + kinds["+U"] + kinds["-D"]
		t.Logf("sink %s: changelog %q, %v", s.name, tb.info.Changelog, kinds)
		// SHOWPLAN=1 logs each job's plan, for debugging.
		if os.Getenv("SHOWPLAN") != "" {
			t.Log(explain)
		}
		checkChangelog(t, s.name, tb, s.pk, s.uniqueKey, want)
	}
	if updated == 0 && !c.sinks[0].appendOnly {
		t.Errorf("no sink saw an update: the job exercised no retraction")
	}
	if t.Failed() {
		t.Logf("script:\n%s\nplan:\n%s", script, explain)
	}
	return res
}

// TestUpdatingSinkPrimaryKeyRejectsNull writes a GROUP BY over a nullable
// key into a sink whose PRIMARY KEY makes that column NOT NULL. The data
// has NULL keys, so the job must fail with an error naming the column
// (Flink's default 'table.exec.sink.not-null-enforcer' = 'ERROR': "Column
// 'k' is NOT NULL, however, a null value is being written into it"), or
// the planner must refuse it; it must not hand NULL keys to the sink.
func TestUpdatingSinkPrimaryKeyRejectsNull(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(7, 23))
	rows := genWRows(r, 500, 5, wDelayMs-1)
	rows[0].KNull = true
	rec := wRecord(mem, rows)
	defer rec.Release()
	reg := builtin.Registry()
	sink := &changelogSink{tables: map[string]*changelogTable{}}
	if err := reg.Register(&memSource{data: map[string]arrow.RecordBatch{"a": rec}, seed: 7}); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(sink); err != nil {
		t.Fatal(err)
	}
	script := wTableDDL("lt", "a") + sinkDDL("out_pk", "k BIGINT, n BIGINT", "k") +
		"INSERT INTO out_pk SELECT k, COUNT(*) FROM lt GROUP BY k;\n"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	plan, err := planner.Compile(ctx, "test.sql", script, planner.Options{JobName: t.Name(), Parallelism: 1, Registry: reg})
	if err == nil {
		_, err = runtime.Run(ctx, plan.Graph, runtime.Options{Connectors: reg, Operators: operators.Factories(), Alloc: mem})
	}
	if err != nil {
		msg := err.Error()
		if !(strings.Contains(msg, "'k'") || strings.Contains(msg, "column k")) || !strings.Contains(strings.ToLower(msg), "null") {
			t.Errorf("error %q does not say that column k got a NULL", err)
		}
		return
	}
	for _, c := range sink.tables["out_pk"].changes {
		if strings.HasPrefix(c.row, "null|") {
			t.Fatalf("a NULL key reached the NOT NULL primary key column k of out_pk without an error: %s|%s", c.kind, c.row)
		}
	}
}
