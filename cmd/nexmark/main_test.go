package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
)

func runCmd(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--events", "0"},
		{"--parallelism", "0"},
		{"--queries", "q0,q99"},
		{"--batch-size", "-1"},
		{"extra"},
		{"--no-such-flag"},
	} {
		if code, _, errOut := runCmd(args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
	if _, _, errOut := runCmd("--queries", "q99"); !strings.Contains(errOut, `unknown query "q99" (known: q0, q1, q2, q3, q4, q5`) {
		t.Errorf("unknown query: %q", errOut)
	}
}

func TestExplain(t *testing.T) {
	code, out, errOut := runCmd("--explain", "--queries", "q2,q14", "--parallelism", "2")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"== q2\n", "Sink nexmark_q2", "== q14\n", "count_char"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestTable runs two queries on a few events and checks the table: one
// line per query with the events, the rows and positive rates.
func TestTable(t *testing.T) {
	code, out, errOut := runCmd("--events", "20000", "--queries", "q0, Q2", "--parallelism", "2", "--rate", "1000")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "Nexmark: 20000 events per query, parallelism 2, first-event.rate 1000") {
		t.Errorf("header:\n%s", out)
	}
	// 20,000 events hold 18,400 bids; q0 writes them all.
	line := regexp.MustCompile(`(?m)^(q0|q2) +20000 +18400 +(\d+) +\S+ +\S+ +[\d.]+[KM]? +[\d.]+[KM]? +[\d.]+[KMG]iB$`)
	got := line.FindAllStringSubmatch(out, -1)
	if len(got) != 2 || got[0][1] != "q0" || got[0][2] != "18400" || got[1][1] != "q2" {
		t.Fatalf("table:\n%s", out)
	}
}

// TestFileQueries runs q10 (CSV files out) and q13 (a side-input file in)
// and an updating query on a few events: the command gives them their
// directory and files, and removes it afterwards.
func TestFileQueries(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	code, out, errOut := runCmd("--events", "5000", "--queries", "q10,q13,q19", "--rate", "1000")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	// 5,000 events hold 4,600 bids; q10 and q13 (whose side input has a
	// row for every key) write one row each.
	for _, q := range []string{"q10", "q13"} {
		if !regexp.MustCompile(`(?m)^` + q + ` +5000 +4600 +4600 `).MatchString(out) {
			t.Errorf("%s: no line with 4600 rows in and out:\n%s", q, out)
		}
	}
	if !regexp.MustCompile(`(?m)^q19 +5000 +4600 +\d+ `).MatchString(out) {
		t.Errorf("q19: no line:\n%s", out)
	}
	if left, err := os.ReadDir(tmp); err != nil || len(left) != 0 {
		t.Errorf("the run left %v in the temporary directory (%v)", left, err)
	}
}
