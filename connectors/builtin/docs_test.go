package builtin

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/push"
)

const (
	docsPath   = "../../docs/connectors.md"
	beginMark  = "<!-- BEGIN GENERATED OPTIONS: go test ./connectors/builtin -run TestConnectorDocs -rewrite -->"
	endMark    = "<!-- END GENERATED OPTIONS -->"
	optionsDoc = "the option tables in docs/connectors.md"
)

// optionTables renders every built-in connector's options as Markdown,
// straight from their OptionSpecs, so the documentation cannot drift.
func optionTables() string {
	var sb strings.Builder
	r := Registry()
	// push is registered by the job manager and task manager processes,
	// with their end of the hub; its options are documented with the rest.
	if err := r.Register(push.New(nil)); err != nil {
		panic(err)
	}
	for _, name := range r.Names() {
		f, _ := r.Lookup(name)
		var roles []string
		_, src := f.(connectors.SourceFactory)
		_, split := f.(connectors.SplitSourceFactory)
		if src || split {
			roles = append(roles, "source")
		}
		if _, ok := f.(connectors.SinkFactory); ok {
			roles = append(roles, "sink")
		}
		fmt.Fprintf(&sb, "\n### %s (%s)\n\n", name, strings.Join(roles, ", "))
		opts := f.Options()
		if len(opts) == 0 {
			sb.WriteString("No options.\n")
			continue
		}
		sb.WriteString("| option | type | default | description |\n|---|---|---|---|\n")
		for _, o := range opts {
			typ := string(o.Type)
			if o.Type == connectors.OptEnum {
				typ = "one of " + strings.Join(o.Enum, ", ")
			}
			def := "`" + o.Default + "`"
			switch {
			case o.Required:
				def = "required"
			case o.Default == "":
				def = ""
			}
			fmt.Fprintf(&sb, "| `%s` | %s | %s | %s |\n", o.Key, typ, def, strings.ReplaceAll(o.Description, "|", "\\|"))
		}
	}
	return sb.String()
}

// TestConnectorDocs checks that docs/connectors.md lists exactly the
// options the connectors accept. With -rewrite it regenerates that section.
func TestConnectorDocs(t *testing.T) {
	path := filepath.FromSlash(docsPath)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	begin, end := strings.Index(doc, beginMark), strings.Index(doc, endMark)
	if begin < 0 || end < begin {
		t.Fatalf("%s lacks the markers %q ... %q", path, beginMark, endMark)
	}
	want := optionTables()
	got := doc[begin+len(beginMark) : end]
	if got == want {
		return
	}
	if f := flag.Lookup("rewrite"); f != nil && f.Value.String() == "true" { // the datadriven tests' flag
		doc = doc[:begin+len(beginMark)] + want + doc[end:]
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("%s is out of date with the connectors' OptionSpecs; run go test ./connectors/builtin -run TestConnectorDocs -rewrite\nwant:\n%s", optionsDoc, want)
}
