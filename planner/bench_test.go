package planner_test

import (
	"os"
	"strings"
	"testing"
)

// BenchmarkCompileFlagship measures parsing, analyzing and planning the
// flagship script at parallelism 4.
func BenchmarkCompileFlagship(b *testing.B) {
	data, err := os.ReadFile("testdata/sql/flagship")
	if err != nil {
		b.Fatal(err)
	}
	text := strings.SplitN(strings.SplitN(string(data), "\n----\n", 2)[0], "\n", 2)[1]
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := compile(b, text, 4); err != nil {
			b.Fatal(err)
		}
	}
}
