package builtin

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/types"
)

func TestRegistry(t *testing.T) {
	r := Registry()
	if got := strings.Join(r.Names(), ","); got != "blackhole,datagen,filesystem,kafka,nexmark,print,upsert-kafka" {
		t.Fatalf("registered %s", got)
	}
	for _, n := range r.Names() {
		f, _ := r.Lookup(n)
		if _, ok := f.(connectors.TableValidator); !ok {
			t.Errorf("%s does not validate tables", n)
		}
		_, src := f.(connectors.SourceFactory)
		_, split := f.(connectors.SplitSourceFactory)
		src = src || split
		_, sink := f.(connectors.SinkFactory)
		if !src && !sink {
			t.Errorf("%s makes neither sources nor sinks", n)
		}
		for _, o := range f.Options() {
			if o.Description == "" || o.Type == "" {
				t.Errorf("%s: option %s lacks a type or description", n, o.Key)
			}
			if o.Type == connectors.OptEnum && len(o.Enum) == 0 {
				t.Errorf("%s: enum option %s lists no values", n, o.Key)
			}
			if o.Default != "" {
				if err := connectors.ValidateOptions([]connectors.OptionSpec{o}, map[string]string{o.Key: o.Default}); err != nil {
					t.Errorf("%s: default of %s is invalid: %v", n, o.Key, err)
				}
			}
		}
	}
	if Registry() == r {
		t.Fatal("Registry must return a new registry each time")
	}
}

// parseType reads the SQL types the golden files use.
func parseType(s string) (types.Type, error) {
	var t types.Type
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutSuffix(s, " NOT NULL"); ok {
		t.NotNull = true
		s = rest
	}
	var p, sc int
	switch {
	case s == "BOOLEAN":
		t.Kind = types.Boolean
	case s == "INT":
		t.Kind = types.Int
	case s == "BIGINT":
		t.Kind = types.BigInt
	case s == "DOUBLE":
		t.Kind = types.Double
	case s == "STRING":
		t.Kind = types.String
	case s == "TIMESTAMP(3)":
		t.Kind, t.Precision = types.Timestamp, 3
	case s == "INTERVAL":
		t.Kind = types.Interval
	case strings.HasPrefix(s, "VARCHAR"):
		if _, err := fmt.Sscanf(s, "VARCHAR(%d)", &p); err != nil {
			return t, err
		}
		t.Kind, t.Length = types.String, p
	case strings.HasPrefix(s, "DECIMAL"):
		if _, err := fmt.Sscanf(s, "DECIMAL(%d, %d)", &p, &sc); err != nil {
			return t, err
		}
		t.Kind, t.Precision, t.Scale = types.Decimal, p, sc
	default:
		return t, fmt.Errorf("unknown type %q", s)
	}
	return t, nil
}

// TestValidationErrors is the golden file of what CREATE TABLE reports
// for bad schemas and options of every built-in connector. Regenerate with
// go test ./connectors/builtin -rewrite.
func TestValidationErrors(t *testing.T) {
	reg := Registry()
	datadriven.RunTest(t, "testdata/validate", func(t *testing.T, d *datadriven.TestData) string {
		info := connectors.TableInfo{Name: "t", Options: map[string]string{}}
		for _, l := range strings.Split(d.Input, "\n") {
			l = strings.TrimSpace(l)
			if l == "" {
				continue
			}
			if k, v, ok := strings.Cut(l, "="); ok && !strings.Contains(k, " ") {
				info.Options[strings.ToLower(k)] = v
				continue
			}
			name, typ, _ := strings.Cut(l, " ")
			ty, err := parseType(typ)
			if err != nil {
				d.Fatalf(t, "%v", err)
			}
			info.Schema.Fields = append(info.Schema.Fields, types.Field{Name: name, Type: ty})
		}
		f, ok := reg.Lookup(info.Options["connector"])
		if !ok {
			return "unknown connector"
		}
		if err := f.(connectors.TableValidator).ValidateTable(info); err != nil {
			return "error: " + err.Error() + "\n"
		}
		return "ok\n"
	})
}
