package parse

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
)

// hintWords are the words TiDB's grammar reserves that a Flink user may
// well write unquoted as a name (rank, key, index, rows, window, ...):
// TiDB's reserved words less the keywords a query uses as keywords. When
// TiDB's syntax error is at or right after one of them, the error says to
// backquote it.
var hintWords = func() map[string]bool {
	keywords := map[string]bool{}
	for _, w := range strings.Fields(`ALL AND AS ASC BETWEEN BY CASE CROSS CURRENT_DATE CURRENT_TIME
		CURRENT_TIMESTAMP CURRENT_USER CURRENT_ROLE DESC DISTINCT DISTINCTROW DIV ELSE EXCEPT EXISTS FALSE FOR
		FROM GROUP HAVING IN INNER INSERT INTERSECT INTO IS JOIN LATERAL LEFT LIKE LIMIT LOCALTIME
		LOCALTIMESTAMP NATURAL NOT NULL OF ON OR ORDER OUTER OVER PARTITION RIGHT SELECT SET TABLE THEN
		TRUE UNION USING UTC_DATE UTC_TIME UTC_TIMESTAMP VALUES WHEN WHERE WITH XOR`) {
		keywords[w] = true
	}
	m := map[string]bool{}
	for _, k := range parser.Keywords {
		if k.Reserved && !keywords[k.Word] {
			m[k.Word] = true
		}
	}
	return m
}()

// reservedWords are all the words TiDB's grammar reserves: none of them
// can be an alias without quotes.
var reservedWords = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range parser.Keywords {
		if k.Reserved {
			m[k.Word] = true
		}
	}
	return m
}()

// reservedHint returns the index of the token, k or the one before it, that
// is a reserved word written where a name was probably meant, or -1.
func reservedHint(toks []token, k int) int {
	for _, i := range []int{k, k - 1} {
		if i < 0 || i >= len(toks) {
			continue
		}
		t := toks[i]
		if t.kind != tokIdent || !hintWords[strings.ToUpper(t.val)] {
			continue
		}
		if i+1 < len(toks) {
			next := toks[i+1]
			if next.isOp("(") {
				continue // a function call: RANK(), MOD(a, b), ...
			}
			if t.is("INTERVAL") && (next.kind == tokString || next.kind == tokNumber) {
				continue
			}
		}
		return i
	}
	return -1
}
