package nexmark

import (
	"embed"
	"fmt"
	"sort"
	"strings"

	conn "github.com/eddy-streaming/eddy/connectors/nexmark"
	"github.com/eddy-streaming/eddy/engine/types"
)

//go:embed *.sql
var files embed.FS

// Queries lists the queries of this directory, in benchmark order.
var Queries = []string{"q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9", "q10", "q11", "q12", "q13", "q14",
	"q15", "q16", "q17", "q18", "q19", "q20", "q21", "q22"}

// DefaultDir is the directory the query files name for the files a run
// reads or writes: q10's output (DefaultDir/data/output/bid/) and q13's
// side input (DefaultDir/data/side_input.txt). Script puts Params.Dir in
// its place.
const DefaultDir = "/tmp/nexmark"

// The marker lines around the copy of ddl.sql in every query file.
const (
	beginDDL = "-- BEGIN ddl.sql (the Nexmark tables; Script replaces this block)\n"
	endDDL   = "-- END ddl.sql\n"
)

// Params are the source options of a run.
type Params struct {
	// Events is 'events.num': the events of all three kinds; 0 is unbounded.
	Events int64
	// Rate is 'first-event.rate' (and 'next-event.rate'): events per second
	// of event time.
	Rate int64
	// Seed is 'seed'.
	Seed int64
	// Options are further connector options (e.g. 'base-time',
	// 'max-emit-speed'); they override the ones above.
	Options map[string]string
	// Dir is the directory of the run's files (q10's output, q13's side
	// input, which WriteSideInput writes); empty means DefaultDir.
	Dir string
}

// DefaultParams are the parameters ddl.sql is written with: Flink's V1
// benchmark rate (10 million events per second of event time) and ten
// million events.
func DefaultParams() Params { return Params{Events: 10_000_000, Rate: 10_000_000} }

// TableOptions returns the WITH options of table ('person', 'auction' or
// 'bid') for p, including 'connector'.
func (p Params) TableOptions(table string) map[string]string {
	o := map[string]string{
		"connector":        "nexmark",
		"table":            table,
		"first-event.rate": fmt.Sprint(p.Rate),
		"next-event.rate":  fmt.Sprint(p.Rate),
		"events.num":       fmt.Sprint(p.Events),
		"seed":             fmt.Sprint(p.Seed),
	}
	for k, v := range p.Options {
		o[k] = v
	}
	return o
}

// optionOrder is the order DDL writes options in; others follow, sorted.
var optionOrder = []string{"connector", "table", "first-event.rate", "next-event.rate", "events.num", "seed"}

// DDL returns the CREATE TABLE statements of the person, auction and bid
// tables for p: every column of the connector's table, with Flink's names,
// and Flink nexmark's watermark, 4 seconds behind dateTime.
func DDL(p Params) string {
	var sb strings.Builder
	for i, table := range conn.TableNames {
		if i > 0 {
			sb.WriteByte('\n')
		}
		fmt.Fprintf(&sb, "CREATE TABLE %s (\n", table)
		for _, c := range conn.Columns(table) {
			fmt.Fprintf(&sb, "    %s %s,\n", c.Name, sqlType(c.Type))
		}
		sb.WriteString("    WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND\n) WITH (\n")
		opts := p.TableOptions(table)
		keys := append([]string(nil), optionOrder...)
		var rest []string
		for k := range opts {
			if !contains(optionOrder, k) {
				rest = append(rest, k)
			}
		}
		sort.Strings(rest)
		keys = append(keys, rest...)
		for j, k := range keys {
			sep := ","
			if j == len(keys)-1 {
				sep = ""
			}
			fmt.Fprintf(&sb, "    '%s' = '%s'%s\n", k, strings.ReplaceAll(opts[k], "'", "''"), sep)
		}
		sb.WriteString(");\n")
	}
	return sb.String()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// sqlType writes a column type as Flink's nexmark DDL does (VARCHAR for
// strings).
func sqlType(t types.Type) string {
	if t.Kind == types.String {
		return "VARCHAR"
	}
	return t.String()
}

// File returns the text of one of the directory's SQL files ("ddl.sql",
// "q5.sql", ...) as written.
func File(name string) (string, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("nexmark: no file %q: %w", name, err)
	}
	return string(b), nil
}

// Script returns query's script (query is "q0", "q5", ...) with the source
// tables of p in place of the copy of ddl.sql. Line numbers in errors
// refer to the script returned; with DefaultParams it is the file itself.
func Script(query string, p Params) (string, error) {
	text, err := File(query + ".sql")
	if err != nil {
		return "", err
	}
	head, body, err := splitDDL(query, text)
	if err != nil {
		return "", err
	}
	if dir := strings.TrimRight(p.Dir, "/"); p.Dir != "" && dir != DefaultDir {
		if dir == "" {
			dir = "/"
		}
		body = strings.ReplaceAll(body, "'"+DefaultDir+"/", "'"+strings.ReplaceAll(dir, "'", "''")+"/")
	}
	return head + beginDDL + DDL(p) + endDDL + body, nil
}

// splitDDL returns what comes before and after a query file's copy of
// ddl.sql.
func splitDDL(query, text string) (head, body string, err error) {
	b := strings.Index(text, beginDDL)
	e := strings.Index(text, endDDL)
	if b < 0 || e < b {
		return "", "", fmt.Errorf("nexmark: %s.sql lacks the lines %q ... %q around its copy of ddl.sql", query, strings.TrimSpace(beginDDL), strings.TrimSpace(endDDL))
	}
	return text[:b], text[e+len(endDDL):], nil
}
